module github.com/mlci/mlci

go 1.26.0

require (
	github.com/zeebo/blake3 v0.2.4
	golang.org/x/sys v0.50.0
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/klauspost/cpuid/v2 v2.0.12 // indirect
)
