package artifact

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		wantPrefix string
		wantRest   string
		wantErr    string
	}{
		{name: "oci-layout relative", spec: "oci-layout:.mlci/artifacts", wantPrefix: "oci-layout:", wantRest: ".mlci/artifacts"},
		{name: "oci-layout absolute", spec: "oci-layout:/srv/models", wantPrefix: "oci-layout:", wantRest: "/srv/models"},
		{name: "oci-layout empty path", spec: "oci-layout:", wantPrefix: "oci-layout:", wantRest: ""},
		{name: "oci registry with host:port", spec: "oci://localhost:5000/models/digits", wantPrefix: "oci://", wantRest: "localhost:5000/models/digits"},
		{name: "unknown scheme", spec: "s3://bucket/models", wantErr: `artifact_store "s3://bucket/models": unknown form; use oci-layout:PATH or oci://REGISTRY/REPO`},
		{name: "bare path", spec: "./models", wantErr: "unknown form"},
		{name: "prefix without its slashes", spec: "oci:ghcr.io/acme", wantErr: "unknown form"},
		{name: "empty", spec: "", wantErr: `artifact_store "": unknown form`},
		{name: "credentials kept out", spec: "https://bot:s3cret@example.com/x", wantErr: `"https://***@example.com/x": unknown form`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, rest, err := lookup(Schemes(), tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("lookup(%q) error = %v; want one containing %q", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.Prefix != tc.wantPrefix || rest != tc.wantRest {
				t.Errorf("lookup(%q) = %q, %q; want %q, %q", tc.spec, sc.Prefix, rest, tc.wantPrefix, tc.wantRest)
			}
		})
	}
}

// fakeStore is a Store that only says it was opened.
type fakeStore struct {
	Store
	rest, root string
}

// A scheme added to a list is found and opened by the same path Open takes,
// which is all a new store needs besides its Store.
func TestOpenWithAddedScheme(t *testing.T) {
	errBucket := errors.New("no such bucket")
	fake := Scheme{
		Prefix: "fake://",
		Form:   "fake://BUCKET",
		Open: func(_ context.Context, rest, root string, _ Options) (Store, error) {
			if rest == "missing" {
				return nil, errBucket
			}
			return &fakeStore{rest: rest, root: root}, nil
		},
	}
	schemes := append(Schemes(), fake)
	ctx := context.Background()

	s, err := OpenWith(ctx, schemes, "fake://models/digits", "/repo", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := s.(*fakeStore); !ok || f.rest != "models/digits" || f.root != "/repo" {
		t.Errorf("OpenWith gave %#v; want the fake store for models/digits under /repo", s)
	}
	if _, err := OpenWith(ctx, schemes, "fake://missing", "/repo", Options{}); !errors.Is(err, errBucket) {
		t.Errorf("error = %v; want the scheme's own error", err)
	}
	// The built-ins still open through the longer list.
	if s, err := OpenWith(ctx, schemes, "oci-layout:store", t.TempDir(), Options{}); err != nil {
		t.Fatal(err)
	} else if _, ok := s.(*store); !ok {
		t.Errorf("oci-layout opened as %T", s)
	}
	_, err = OpenWith(ctx, schemes, "s3://bucket", "", Options{})
	if want := "use oci-layout:PATH, oci://REGISTRY/REPO or fake://BUCKET"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v; want one listing every scheme: %q", err, want)
	}
	// Open knows only the built-ins.
	if _, err := Open(ctx, "fake://models", "", Options{}); err == nil {
		t.Error("Open accepted a scheme that is not built in")
	}
}

// The longest prefix wins, so the order of a list cannot let a short
// prefix shadow a longer one.
func TestLookupLongestPrefix(t *testing.T) {
	short := Scheme{Prefix: "oci:", Form: "oci:X"}
	for _, schemes := range [][]Scheme{append([]Scheme{short}, Schemes()...), append(Schemes(), short)} {
		sc, rest, err := lookup(schemes, "oci://ghcr.io/acme/digits")
		if err != nil || sc.Prefix != "oci://" || rest != "ghcr.io/acme/digits" {
			t.Errorf("lookup = %q, %q, %v; want oci:// and the rest", sc.Prefix, rest, err)
		}
	}
}
