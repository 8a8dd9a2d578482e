# The one test command: the README's quick start and .ci/run both use it.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# gotestsum runs go test and ends with the count of tests run, failed and skipped.
GOTESTSUM := gotest.tools/gotestsum@v1.13.0

.PHONY: test test-unit build bench fuzz release-snapshot

# go-nvml's cgo preamble calls NVML functions that newer headers mark
# deprecated; the warnings say nothing about mlci and would bury test output.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

# Everything, including the tests that build and run the action's image
# with the Docker Engine and the release snapshot (build tag integration).
# The snapshot alone may pass go test's default 10 minutes on a cold cache.
test:
	go vet ./...
	go vet -tags integration ./...
	go run $(STATICCHECK) -tags integration ./...
	go run $(GOTESTSUM) --format pkgname -- -race -count=1 -timeout 30m -tags integration ./...

# The same without Docker.
test-unit:
	go vet ./...
	go run $(STATICCHECK) ./...
	go run $(GOTESTSUM) --format pkgname -- -race -count=1 ./...

# The release of .goreleaser.yaml as a GoReleaser snapshot in a temporary
# folder, every artifact checked but the image (no base image can be pulled
# here); make test runs it too. A real release: .github/workflows/release.yml.
release-snapshot:
	go test -count=1 -timeout 30m -tags integration -run TestReleaseSnapshot -v ./internal/goreleaser/

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
	go test -run='^$$' -fuzz=FuzzDVC -fuzztime=$(FUZZTIME) ./internal/scaffold/
	go test -run='^$$' -fuzz=FuzzParseDefinitions -fuzztime=$(FUZZTIME) ./internal/plots/
	go test -run='^$$' -fuzz=FuzzCSVReader -fuzztime=$(FUZZTIME) ./internal/plots/
	go test -run='^$$' -fuzz=FuzzParseNumber -fuzztime=$(FUZZTIME) ./internal/plots/
	go test -run='^$$' -fuzz=FuzzParseOptions -fuzztime=$(FUZZTIME) ./runner/dockerjob/
	go test -run='^$$' -fuzz=FuzzParseSize -fuzztime=$(FUZZTIME) ./runner/jobrun/
	go test -run='^$$' -fuzz=FuzzParse$$ -fuzztime=$(FUZZTIME) ./runner/hostconfig/
	go test -run='^$$' -fuzz=FuzzReadInput -fuzztime=$(FUZZTIME) ./runner/ghhook/
	go test -run='^$$' -fuzz=FuzzServices -fuzztime=$(FUZZTIME) ./runner/glexec/
	go test -run='^$$' -fuzz=FuzzIdentity -fuzztime=$(FUZZTIME) ./runner/glexec/
