//go:build integration

package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/mlci/mlci/internal/digest"
)

// countingTransport counts the requests an S3 store sends, by kind.
type countingTransport struct {
	next         http.RoundTripper
	heads, lists atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.Method == http.MethodHead:
		c.heads.Add(1)
	case r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
		c.lists.Add(1)
	}
	return c.next.RoundTrip(r)
}

// hasFixture is a set of digests, some stored, in chosen fan-out folders.
type hasFixture struct {
	alg    digest.Algorithm
	n      int
	asked  []digest.Digest
	stored []digest.Digest
}

// inFolder returns the next blob whose digest falls in folder hh.
func (f *hasFixture) inFolder(hh string) (digest.Digest, []byte) {
	for {
		f.n++
		d, b := blob(f.alg, fmt.Sprintf("has-%d", f.n))
		if hh == "" || d.Hex()[:2] == hh {
			return d, b
		}
	}
}

// add asks about n digests in folder hh ("" for any), storing every other.
func (f *hasFixture) add(t *testing.T, s *S3, hh string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		d, b := f.inFolder(hh)
		f.asked = append(f.asked, d)
		if i%2 == 0 {
			f.stored = append(f.stored, d)
			wg.Go(func() {
				if err := s.Put(context.Background(), d, int64(len(b)), bytes.NewReader(b)); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
}

// fill stores n objects that are not asked about in folder hh, as a
// shared bucket's folder holds.
func fill(t *testing.T, s *S3, hh string, n int) {
	t.Helper()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			key := s.prefix + "/objects/sha256/" + hh + "/" + hh + fmt.Sprintf("%062x", i*7919+1)
			if _, err := s.client.PutObject(context.Background(), s.bucket, key, bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestS3HasLists(t *testing.T) {
	v := startVersity(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, s *S3, f *hasFixture)
		// bounds on the requests Has sends, from the number of digests asked
		lists, heads func(asked int) (lo, hi int)
	}{{
		name: "few digests a folder are HEADs",
		setup: func(t *testing.T, s *S3, f *hasFixture) {
			for _, hh := range []string{"00", "3f", "a7", "ff"} {
				f.add(t, s, hh, listMin-1)
			}
		},
		lists: func(int) (int, int) { return 0, 0 },
		heads: func(n int) (int, int) { return n, n },
	}, {
		name: "many digests in one folder are one listing",
		setup: func(t *testing.T, s *S3, f *hasFixture) {
			f.add(t, s, "5c", 40)
			f.add(t, s, "c2", 2) // and a folder below the threshold
		},
		lists: func(int) (int, int) { return 1, 1 },
		heads: func(int) (int, int) { return 2, 2 },
	}, {
		name: "a transfer batch across all folders",
		setup: func(t *testing.T, s *S3, f *hasFixture) {
			f.add(t, s, "", 1000)
		},
		// the folders hold two objects each, so every folder with listMin
		// asked is listed, and far fewer requests go out than digests
		lists: func(int) (int, int) { return 1, 256 },
		heads: func(n int) (int, int) { return 0, n / 3 },
	}, {
		name: "folders fuller than pays are HEADs",
		setup: func(t *testing.T, s *S3, f *hasFixture) {
			f.add(t, s, "5c", 2*listMin)
			fill(t, s, "5c", 2*listMin*headKeys)
			f.add(t, s, "77", 2*listMin-1)
		},
		// the busiest folder is listed and found to hold more than
		// headKeys a digest, so the next is not
		lists: func(int) (int, int) { return 1, 1 },
		heads: func(int) (int, int) { return 2*listMin - 1, 2*listMin - 1 },
	}, {
		name: "a folder fuller than the cap falls back to HEADs",
		setup: func(t *testing.T, s *S3, f *hasFixture) {
			f.add(t, s, "e1", listMin)
			fill(t, s, "e1", listLimit(listMin)+500)
			f.add(t, s, "42", listMin)
		},
		// one page, one more minio-go may start before the cap cancels
		// it, then a HEAD for each digest of e1 not seen, the absent half
		// at least, and for every digest of 42
		lists: func(int) (int, int) { return 1, 2 },
		heads: func(n int) (int, int) { return listMin/2 + listMin, n },
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			count := &countingTransport{next: Options{}.transport()}
			s, _ := v.bucket(t, Options{Transport: count})
			f := &hasFixture{alg: digest.SHA256}
			c.setup(t, s, f)
			want := make([]bool, len(f.asked))
			for i, d := range f.asked {
				key, _ := s.key(d)
				ok, err := s.head(context.Background(), key)
				if err != nil {
					t.Fatal(err)
				}
				want[i] = ok
			}
			if n := countTrue(want); n != len(f.stored) {
				t.Fatalf("HEAD finds %d objects; %d were stored", n, len(f.stored))
			}
			count.heads.Store(0)
			count.lists.Store(0)
			got, err := s.Has(context.Background(), f.asked)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("Has(%s) = %v; HEAD says %v", f.asked[i].Short(), got[i], want[i])
				}
			}
			lists, heads := int(count.lists.Load()), int(count.heads.Load())
			t.Logf("%d digests: %d listings, %d HEADs", len(f.asked), lists, heads)
			if lo, hi := c.lists(len(f.asked)); lists < lo || lists > hi {
				t.Errorf("%d listings; want %d to %d", lists, lo, hi)
			}
			if lo, hi := c.heads(len(f.asked)); heads < lo || heads > hi {
				t.Errorf("%d HEADs; want %d to %d", heads, lo, hi)
			}
		})
	}

	t.Run("wrong credentials", func(t *testing.T) {
		s, name := v.bucket(t, Options{})
		f := &hasFixture{alg: digest.SHA256}
		f.add(t, s, "7b", 10)
		f.add(t, s, "90", 1)
		wrong := "not-" + v.Secret
		opened, err := Open(context.Background(), "s3://"+name+"/datasets?path_style=true", "", Options{Getenv: v.env(wrong)})
		if err != nil {
			t.Fatal(err)
		}
		bad := opened.(*S3)
		key, _ := bad.key(f.asked[0])
		_, headErr := bad.head(context.Background(), key)
		for name, ds := range map[string][]digest.Digest{"listing": f.asked[:10], "HEAD": f.asked[10:], "both": f.asked} {
			_, err := bad.Has(context.Background(), ds)
			if !errors.Is(err, ErrAuth) || !errors.Is(headErr, ErrAuth) {
				t.Errorf("%s: Has with a wrong secret: %v; HEAD alone: %v; want ErrAuth from both", name, err, headErr)
				continue
			}
			if msg := err.Error(); strings.Contains(msg, wrong) || strings.Contains(msg, "\n") {
				t.Errorf("%s: message holds the secret or several lines: %q", name, msg)
			}
		}
	})
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
