# The one test command: the README's quick start and .ci/run both use it.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# gotestsum runs go test and ends with the count of tests run, failed and skipped.
GOTESTSUM := gotest.tools/gotestsum@v1.13.0

.PHONY: test test-unit build bench fuzz

# go-nvml's cgo preamble calls NVML functions that newer headers mark
# deprecated; the warnings say nothing about mlci and would bury test output.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

# Everything, including the tests that build and run the action's image
# with the Docker Engine (build tag integration).
test:
	go vet ./...
	go vet -tags integration ./...
	go run $(STATICCHECK) -tags integration ./...
	go run $(GOTESTSUM) --format pkgname -- -race -count=1 -tags integration ./...

# The same without Docker.
test-unit:
	go vet ./...
	go run $(STATICCHECK) ./...
	go run $(GOTESTSUM) --format pkgname -- -race -count=1 ./...

build:
	CGO_ENABLED=0 go build -trimpath -o bin/mlci ./cmd/mlci
	go build -trimpath -o bin/mlci-runner ./cmd/mlci-runner

bench:
	bench/datahash.sh

# Each parser's fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	go test -run='^$$' -fuzz=FuzzParse$$ -fuzztime=$(FUZZTIME) ./internal/config/
	go test -run='^$$' -fuzz=FuzzParse$$ -fuzztime=$(FUZZTIME) ./internal/lockfile/
	go test -run='^$$' -fuzz=FuzzParseManifest -fuzztime=$(FUZZTIME) ./internal/lockfile/
	go test -run='^$$' -fuzz=FuzzCompile -fuzztime=$(FUZZTIME) ./internal/ignore/
	go test -run='^$$' -fuzz=FuzzParseOptions -fuzztime=$(FUZZTIME) ./runner/dockerjob/
	go test -run='^$$' -fuzz=FuzzParseSize -fuzztime=$(FUZZTIME) ./runner/jobrun/
	go test -run='^$$' -fuzz=FuzzParse$$ -fuzztime=$(FUZZTIME) ./runner/hostconfig/
	go test -run='^$$' -fuzz=FuzzReadInput -fuzztime=$(FUZZTIME) ./runner/ghhook/
	go test -run='^$$' -fuzz=FuzzServices -fuzztime=$(FUZZTIME) ./runner/glexec/
	go test -run='^$$' -fuzz=FuzzIdentity -fuzztime=$(FUZZTIME) ./runner/glexec/
