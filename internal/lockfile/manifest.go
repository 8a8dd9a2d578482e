package lockfile

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/zeebo/blake3"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
)

// A manifest lists a dataset's files, one per line, in tree order:
//
//	# mlci-manifest 1 blake3
//	f<TAB>size<TAB>hex digest<TAB>path
//
// Plain text so a pull request's diff shows exactly the files that changed.
// A path that is not printable UTF-8 (or contains tabs, newlines, a leading
// quote or backslashes) is written as a Go-quoted string, which round-trips
// any byte sequence.

const (
	manifestMagic = "# mlci-manifest "
	// ManifestVersion is the manifest format this mlci writes and the
	// newest it reads.
	ManifestVersion = 1
	manifestHeader  = manifestMagic + "1 "
	manifestExt     = ".tsv"
)

// ManifestPath returns the manifest's path for a dataset name, relative to
// the lock's directory. Names that are not safe file names get a short hash
// so that two names never share a manifest.
func ManifestPath(name string) string {
	safe := []byte(name)
	changed := false
	for i, c := range safe {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			safe[i] = '-'
			changed = true
		}
	}
	s := strings.Trim(string(safe), ".-")
	if changed || s != name || s == "" {
		sum := blake3.Sum256([]byte(name))
		s = fmt.Sprintf("%s-%x", s, sum[:4])
		s = strings.TrimLeft(s, "-")
	}
	return ManifestDir + "/" + s + manifestExt
}

// EncodeManifest renders entries, which must be in tree order.
func EncodeManifest(alg digest.Algorithm, entries []datahash.Entry) []byte {
	var b bytes.Buffer
	b.Grow(len(manifestHeader) + 16 + len(entries)*(80+32))
	b.WriteString(manifestHeader)
	b.WriteString(string(alg))
	b.WriteByte('\n')
	var hx [64]byte
	for _, e := range entries {
		b.WriteByte(byte(e.Type))
		b.WriteByte('\t')
		b.WriteString(strconv.FormatInt(e.Size, 10))
		b.WriteByte('\t')
		hex.Encode(hx[:], e.Sum[:])
		b.Write(hx[:])
		b.WriteByte('\t')
		b.WriteString(quotePath(e.Path))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func quotePath(p string) string {
	if p == "" || p[0] == '"' || !utf8.ValidString(p) {
		return strconv.Quote(p)
	}
	for _, r := range p {
		if r == '\\' || !strconv.IsPrint(r) {
			return strconv.Quote(p)
		}
	}
	return p
}

// ParseManifest decodes a manifest and checks that it is in tree order with
// no duplicates, so Diff can merge it with a fresh walk.
func ParseManifest(name string, data []byte) (digest.Algorithm, []datahash.Entry, error) {
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %w manifest: %s; re-create it with mlci data lock", name, line, ErrMalformed, fmt.Sprintf(format, args...))
	}
	header, rest, _ := bytes.Cut(data, []byte("\n"))
	version, algName, ok := strings.Cut(strings.TrimPrefix(string(header), manifestMagic), " ")
	n, verr := strconv.Atoi(version)
	switch {
	case !bytes.HasPrefix(header, []byte(manifestMagic)) || !ok || verr != nil || n < 1:
		return "", nil, bad(1, "first line is not %q", manifestHeader+"ALGORITHM")
	case n > ManifestVersion:
		return "", nil, fmt.Errorf("%s: %w (manifest format %d; this mlci reads up to %d): upgrade mlci", name, ErrNewerVersion, n, ManifestVersion)
	}
	alg, err := digest.ParseAlgorithm(algName)
	if err != nil {
		return "", nil, bad(1, "%v", err)
	}
	if last := len(data) - 1; last >= 0 && data[last] != '\n' {
		return "", nil, bad(bytes.Count(data, []byte("\n"))+1, "no newline at the end: the file is cut short")
	}
	// One string for the whole body: paths are slices of it, not a copy
	// each, which halves the time of a check that changed nothing.
	body := string(rest)
	entries := make([]datahash.Entry, 0, strings.Count(body, "\n"))
	var f [4]string
	for lineNo := 2; len(body) > 0; lineNo++ {
		var line string
		line, body, _ = strings.Cut(body, "\n")
		n := 0
		for ; n < 3; n++ {
			i := strings.IndexByte(line, '\t')
			if i < 0 {
				break
			}
			f[n], line = line[:i], line[i+1:]
		}
		f[n] = line
		if n != 3 {
			return "", nil, bad(lineNo, "want 4 tab-separated fields, got %d", n+1)
		}
		var e datahash.Entry
		switch f[0] {
		case "f":
			e.Type = datahash.File
		case "l":
			e.Type = datahash.Symlink
		default:
			return "", nil, bad(lineNo, "unknown entry type %q", f[0])
		}
		if e.Size, err = strconv.ParseInt(f[1], 10, 64); err != nil || e.Size < 0 {
			return "", nil, bad(lineNo, "bad size %q", f[1])
		}
		if len(f[2]) != 64 {
			return "", nil, bad(lineNo, "digest is not 64 hex characters")
		}
		if !decodeHex(e.Sum[:], f[2]) {
			return "", nil, bad(lineNo, "digest is not hex")
		}
		e.Path = f[3]
		if strings.HasPrefix(e.Path, `"`) {
			if e.Path, err = strconv.Unquote(e.Path); err != nil {
				return "", nil, bad(lineNo, "bad quoted path")
			}
		}
		if n := len(entries); n > 0 && !datahash.Less(entries[n-1].Path, e.Path) {
			return "", nil, bad(lineNo, "path %q is out of order or repeated", e.Path)
		}
		if err := checkPath(e.Path, len(entries) == 0 && len(body) == 0); err != nil {
			return "", nil, bad(lineNo, "%v", err)
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return "", nil, bad(2, "no entries")
	}
	return alg, entries, nil
}

// checkPath rejects paths a walk cannot produce; "" is only valid as the
// single entry of a one-file dataset.
func checkPath(p string, only bool) error {
	if p == "" {
		if only {
			return nil
		}
		return fmt.Errorf("empty path in a multi-file manifest")
	}
	for rest := p; ; {
		part, more, found := strings.Cut(rest, "/")
		if part == "" || part == "." || part == ".." || strings.IndexByte(part, 0) >= 0 {
			return fmt.Errorf("path %q is not a clean relative path", p)
		}
		if !found {
			return nil
		}
		rest = more
	}
}

// decodeHex decodes lower- or upper-case hex into dst, len(src) == 2*len(dst).
func decodeHex(dst []byte, src string) bool {
	for i := range dst {
		hi, ok1 := fromHex(src[2*i])
		lo, ok2 := fromHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
