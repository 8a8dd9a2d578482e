package datahash

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// walk lists the dataset's files in tree order without reading them, and
// hands them to emit in batches as it goes so hashing starts at once.
func walk(ctx context.Context, root string, opts *Options, emit func([]job)) error {
	root = filepath.Clean(root)
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("dataset %w", err)
	}
	switch {
	case fi.Mode().IsRegular():
		emit([]job{{rel: "", full: root, typ: File, follow: true}})
		return nil
	case !fi.IsDir():
		return fmt.Errorf("dataset %s is a %s, not a file or directory", root, kind(fi.Mode()))
	}
	w := walker{ctx: ctx, opts: opts, emit: emit}
	if err := w.dir(root, "", []fs.FileInfo{fi}, false); err != nil {
		for _, j := range w.pending {
			j.dir.release() // never handed to a worker
		}
		return err
	}
	w.flush()
	return nil
}

// walkBatch is how many files go to a worker at once: small enough that a
// few large files still spread over every worker, large enough that the
// channel costs nothing next to the system calls per file.
const walkBatch = 8

type walker struct {
	ctx     context.Context
	opts    *Options
	pending []job
	emit    func([]job)
}

func (w *walker) add(j job) {
	w.pending = append(w.pending, j)
	if len(w.pending) == walkBatch {
		w.flush()
	}
}

func (w *walker) flush() {
	if len(w.pending) > 0 {
		w.emit(w.pending)
		w.pending = make([]job, 0, walkBatch)
	}
}

// dir adds the entries below full. ancestors holds the directories on the
// way down, to detect loops when links are followed.
func (w *walker) dir(full, rel string, ancestors []fs.FileInfo, followed bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(full)
	if err != nil {
		return err
	}
	// Held while listing; each file job takes a hold that its worker
	// releases, and the last release closes it.
	d := openDirectory(full)
	defer d.release()
	// full is clean: a plain concatenation saves a Clean per file.
	prefix := full
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	for _, e := range entries {
		name := e.Name()
		childFull := prefix + name
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		mode := e.Type()
		viaLink := followed
		if mode&fs.ModeSymlink != 0 && w.opts.FollowSymlinks {
			target, err := os.Stat(childFull)
			if err != nil {
				return fmt.Errorf("follow symlink %s: %w", childFull, err)
			}
			if target.IsDir() {
				for _, a := range ancestors {
					if os.SameFile(a, target) {
						return fmt.Errorf("%s: %w", childFull, ErrLoop)
					}
				}
				if w.opts.Exclude.Match(childRel, true) {
					continue
				}
				if err := w.dir(childFull, childRel, append(ancestors, target), true); err != nil {
					return err
				}
				continue
			}
			mode = target.Mode().Type()
			viaLink = true
		}
		isDir := mode.IsDir()
		if w.opts.Exclude.Match(childRel, isDir) {
			continue
		}
		switch {
		case isDir:
			fi, err := e.Info()
			if err != nil {
				return err
			}
			if err := w.dir(childFull, childRel, append(ancestors, fi), viaLink); err != nil {
				return err
			}
		case mode.IsRegular():
			d.hold()
			w.add(job{rel: childRel, full: childFull, typ: File, follow: viaLink, dir: d, name: name})
		case mode&fs.ModeSymlink != 0:
			w.add(job{rel: childRel, full: childFull, typ: Symlink})
		default:
			if w.opts.Warn != nil {
				w.opts.Warn(fmt.Sprintf("skipped %s: a %s is not data", childFull, kind(mode)))
			}
		}
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
