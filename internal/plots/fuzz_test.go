package plots

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseDefinitions(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "dvc", "*.yaml"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("- a.csv:\n    template: nope\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := ParseDefinitions(data)
		if err != nil {
			return
		}
		// Build relies on these for every definition it is given.
		for _, d := range defs {
			if d.ID == "" || len(d.Y) == 0 || len(d.X) != len(d.Y) {
				t.Fatalf("malformed definition %+v from %q", d, data)
			}
			if !d.Image && d.Kind == "" {
				t.Fatalf("definition without kind %+v", d)
			}
		}
	})
}
