package remote

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/internal/digest"
)

func TestListStore(t *testing.T) {
	dir := t.TempDir()
	obj := digest.New(digest.BLAKE3, bytes.Repeat([]byte{0xab}, 32))
	sha := digest.New(digest.SHA256, bytes.Repeat([]byte{0x01}, 32))
	files := map[string]bool{ // path below dir: listed
		"blake3/ab/" + obj.Hex():               true,
		"blake3/ab/" + obj.Hex() + ".tmp-1234": true,
		"sha256/01/" + sha.Hex():               true,
		"blake3/cd/" + obj.Hex():               false, // in the wrong folder
		"blake3/ab/README":                     false,
		"blake3/ab/" + obj.Hex()[:10]:          false,
		"md5/ab/" + obj.Hex():                  false,
		"blake3/" + obj.Hex():                  false,
		"blake3/ab/x/" + obj.Hex():             false,
		"notes.txt":                            false,
	}
	for p := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("12345"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	var got []StoredObject
	err := listObjects(context.Background(), dir, func(o StoredObject) error {
		got = append(got, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []StoredObject{
		{Path: filepath.Join(dir, "blake3", "ab", obj.Hex()), Digest: obj, Size: 5},
		{Path: filepath.Join(dir, "blake3", "ab", obj.Hex()+".tmp-1234"), Digest: obj, Temp: true, Size: 5},
		{Path: filepath.Join(dir, "sha256", "01", sha.Hex()), Digest: sha, Size: 5},
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(StoredObject{}, "ModTime")); d != "" {
		t.Errorf("listObjects (-want +got):\n%s", d)
	}
	for _, o := range got {
		if err := (&Local{}).Remove(o); err != nil {
			t.Fatal(err)
		}
		if err := (&Local{}).Remove(o); err != nil {
			t.Errorf("removing %s twice: %v", o.Path, err)
		}
	}
	if err := listObjects(context.Background(), filepath.Join(dir, "none"), func(StoredObject) error { return nil }); err != nil {
		t.Errorf("a store never written: %v", err)
	}
}
