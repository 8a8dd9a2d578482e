package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge"
)

func TestPost(t *testing.T) {
	dir := t.TempDir()
	f := &Forge{Dir: dir}
	r := forge.Report{ID: "default", Body: "## report"}
	res, err := f.Post(context.Background(), r)
	if err != nil || res.Unchanged || res.CommentURL != filepath.Join(dir, FileName) {
		t.Fatalf("first post: %+v, %v", res, err)
	}
	got, _ := os.ReadFile(res.CommentURL)
	if !strings.Contains(string(got), "## report") || !strings.Contains(string(got), forge.Marker("default")) {
		t.Errorf("file = %q", got)
	}
	if res, _ := f.Post(context.Background(), r); !res.Unchanged {
		t.Error("identical report was rewritten")
	}
	r.Body = "## changed"
	if res, _ := f.Post(context.Background(), r); res.Unchanged {
		t.Error("changed report reported unchanged")
	}
	os.Remove(filepath.Join(dir, FileName))
	r.Mode = forge.ModeOff
	if _, err := f.Post(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !os.IsNotExist(err) {
		t.Error("mode off wrote a report")
	}
}
