// Package local is the forge used with no CI around: the report goes to a
// file in the project, so the whole flow runs offline.
package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/forge"
)

// FileName is the report's file name in the project root.
const FileName = "mlci-report.md"

// Forge writes the report to Dir/mlci-report.md.
type Forge struct {
	Dir string
}

// Name is "local".
func (f *Forge) Name() string { return "local" }

// Post writes the report; an identical file is left alone, like an
// unchanged sticky comment.
func (f *Forge) Post(ctx context.Context, r forge.Report) (forge.Result, error) {
	if err := ctx.Err(); err != nil {
		return forge.Result{}, err
	}
	if r.Mode == forge.ModeOff {
		return forge.Result{}, nil
	}
	path := filepath.Join(f.Dir, FileName)
	body := []byte(r.Body + "\n" + forge.Marker(r.ID) + "\n")
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, body) {
		return forge.Result{CommentURL: path, Unchanged: true}, nil
	}
	if err := atomicfile.Write(path, body, 0o644); err != nil {
		return forge.Result{}, err
	}
	return forge.Result{CommentURL: path}, nil
}
