package lockfile

import (
	"fmt"
	"testing"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
)

// BenchmarkVerifyManifest is what every data check now pays per dataset
// before hashing: parse the manifest and recompute its root. 100,000
// files, laid out as bench/gendata's dataset B.
func BenchmarkVerifyManifest(b *testing.B) {
	var entries []datahash.Entry
	for i := range 100_000 {
		e := datahash.Entry{Path: fmt.Sprintf("d%02d/s%d/f%03d.bin", i/1000, i/100%10, i%100), Type: datahash.File, Size: int64(1024 + i%15000)}
		e.Sum[0], e.Sum[1], e.Sum[2] = byte(i), byte(i>>8), byte(i>>16)
		entries = append(entries, e)
	}
	datahash.Sort(entries)
	data := EncodeManifest(digest.BLAKE3, entries)
	ds := &Dataset{Digest: datahash.Root(digest.BLAKE3, entries), Files: int64(len(entries)), Manifest: ManifestPath("B")}
	for _, e := range entries {
		ds.Bytes += e.Size
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := VerifyManifest(ds.Manifest, "B", ds, data); err != nil {
			b.Fatal(err)
		}
	}
}
