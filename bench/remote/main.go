// Command remote is the remote store benchmark's Go side: it generates small
// files, pushes and pulls them through internal/remote as `mlci data
// push|pull` will, and uploads and downloads them with minio-go alone, N
// goroutines and no existence checks, as the peer baseline.
//
//	remote gen -n N -dir DIR
//	remote mkbucket -remote s3://BUCKET
//	remote push -remote SPEC -dir DIR [-workers 8]
//	remote pull -remote SPEC -dir DIR -out OUT [-workers 8]
//	remote peer-put -bucket B -dir DIR [-workers 8]
//	remote peer-get -bucket B -dir DIR -out OUT [-workers 8]
//	remote registry -addr 127.0.0.1:PORT [-root DIR]
//
// S3 settings come from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. Each transfer prints one line: files/s and MB/s.
// registry serves distribution's registry until killed, with its
// filesystem driver under -root, or in memory without one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/remote"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: remote gen|mkbucket|push|pull|peer-put|peer-get|registry ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 20000, "files to generate")
	dir := fs.String("dir", "", "the files")
	out := fs.String("out", "", "where pulled files go")
	spec := fs.String("remote", "", "remote store")
	bucket := fs.String("bucket", "", "bucket for the peer baseline")
	workers := fs.Int("workers", 8, "parallel transfers")
	addr := fs.String("addr", "127.0.0.1:5000", "where the registry listens")
	root := fs.String("root", "", "the registry's storage folder (none: in memory)")
	fs.Parse(os.Args[2:])
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(*n, *dir)
	case "mkbucket":
		err = mkbucket(ctx, *spec)
	case "push":
		err = push(ctx, *spec, *dir, *workers)
	case "pull":
		err = pull(ctx, *spec, *dir, *out, *workers)
	case "peer-put":
		err = peer(ctx, *bucket, *dir, "", *workers)
	case "peer-get":
		err = peer(ctx, *bucket, *dir, *out, *workers)
	case "registry":
		err = serveRegistry(ctx, *addr, *root)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "remote:", err)
		os.Exit(1)
	}
}

// gen writes n files of 1-16 KiB in 100 folders, the size spread of the
// datahash benchmark's B dataset.
func gen(n int, dir string) error {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 16<<10)
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("%02d", i%100), fmt.Sprintf("f%06d.bin", i))
		if i < 100 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
		}
		size := 1<<10 + r.IntN(15<<10)
		for j := range size {
			buf[j] = byte(r.Uint32())
		}
		if err := os.WriteFile(p, buf[:size], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func options() remote.Options { return remote.Options{Getenv: os.Getenv} }

func mkbucket(ctx context.Context, spec string) error {
	s, err := remote.Open(ctx, spec, "", options())
	if err != nil {
		return err
	}
	return s.(*remote.S3).MakeBucket(ctx)
}

// files lists dir's files in a fixed order.
func files(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return err
	})
	sort.Strings(paths)
	return paths, err
}

// objects hashes every file (BLAKE3, as the dataset hasher does); the time
// it takes is reported apart from the transfer.
func objects(dir string) ([]remote.Object, map[digest.Digest]string, error) {
	paths, err := files(dir)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	objs := make([]remote.Object, len(paths))
	where := make(map[digest.Digest]string, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		h := digest.BLAKE3.New()
		h.Write(b)
		d := digest.New(digest.BLAKE3, h.Sum(nil))
		objs[i] = remote.Object{Digest: d, Size: int64(len(b))}
		where[d] = p
	}
	fmt.Fprintf(os.Stderr, "hashed %d files in %.2fs (not counted below)\n", len(paths), time.Since(start).Seconds())
	return objs, where, nil
}

func report(what string, files, bytes int64, d time.Duration, extra string) {
	s := d.Seconds()
	fmt.Printf("%-34s %7d files %8.1f MB %7.2fs %9.0f files/s %7.1f MB/s %s\n",
		what, files, float64(bytes)/1e6, s, float64(files)/s, float64(bytes)/1e6/s, extra)
}

func push(ctx context.Context, spec, dir string, workers int) error {
	s, err := remote.Open(ctx, spec, "", options())
	if err != nil {
		return err
	}
	objs, where, err := objects(dir)
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := remote.Push(ctx, s, objs, func(d digest.Digest) (io.ReadCloser, error) { return os.Open(where[d]) },
		remote.TransferOptions{Workers: workers})
	if err != nil {
		return err
	}
	var total int64
	for _, o := range objs {
		total += o.Size
	}
	report("push "+s.String(), st.Objects, total, time.Since(start),
		fmt.Sprintf("(sent %d, already there %d, retries %d)", st.Transferred, st.Skipped, st.Retries))
	return nil
}

func pull(ctx context.Context, spec, dir, out string, workers int) error {
	s, err := remote.Open(ctx, spec, "", options())
	if err != nil {
		return err
	}
	objs, _, err := objects(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	start := time.Now()
	st, err := remote.Pull(ctx, s, objs, func(d digest.Digest, tmp string) error {
		return os.Rename(tmp, filepath.Join(out, d.Hex()))
	}, remote.TransferOptions{Workers: workers, TempDir: out})
	if err != nil {
		return err
	}
	report("pull "+s.String(), st.Transferred, st.Bytes, time.Since(start), "(verified)")
	return nil
}

// peer uploads (out == "") or downloads every file of dir with minio-go
// alone: no existence checks, no digests, keys are the relative paths.
func peer(ctx context.Context, bucket, dir, out string, workers int) error {
	ep, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL"))
	if err != nil {
		return err
	}
	c, err := minio.New(ep.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		Secure:       ep.Scheme == "https",
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return err
	}
	if out == "" {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			return err
		}
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	paths, err := files(dir)
	if err != nil {
		return err
	}
	work := make(chan string)
	var bytes atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for p := range work {
				rel, _ := filepath.Rel(dir, p)
				var n int64
				var err error
				if out == "" {
					var info minio.UploadInfo
					info, err = c.FPutObject(ctx, bucket, filepath.ToSlash(rel), p, minio.PutObjectOptions{})
					n = info.Size
				} else {
					n, err = get(ctx, c, bucket, filepath.ToSlash(rel), filepath.Join(out, filepath.Base(p)))
				}
				bytes.Add(n)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	what := "peer minio-go put (no checks)"
	if out != "" {
		what = "peer minio-go get (no checks)"
	}
	report(what, int64(len(paths)), bytes.Load(), time.Since(start), "")
	return firstErr
}

func get(ctx context.Context, c *minio.Client, bucket, key, dst string) (int64, error) {
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return 0, err
	}
	defer obj.Close()
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, obj)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}
