package ignore

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		path     string
		isDir    bool
		want     bool
	}{
		{"basename at any depth", []string{"*.tmp"}, "a/b/c.tmp", false, true},
		{"basename no match", []string{"*.tmp"}, "a/b/c.tmp.txt", false, false},
		{"star does not cross slash", []string{"a/*.txt"}, "a/b/c.txt", false, false},
		{"anchored middle slash", []string{"a/*.txt"}, "a/c.txt", false, true},
		{"anchored leading slash", []string{"/c.txt"}, "a/c.txt", false, false},
		{"anchored leading slash root", []string{"/c.txt"}, "c.txt", false, true},
		{"dir only matches dir", []string{"cache/"}, "x/cache", true, true},
		{"dir only skips file", []string{"cache/"}, "x/cache", false, false},
		{"leading double star", []string{"**/logs"}, "a/b/logs", true, true},
		{"leading double star root", []string{"**/logs"}, "logs", true, true},
		{"trailing double star", []string{"raw/**"}, "raw/x/y.bin", false, true},
		{"trailing double star not self", []string{"raw/**"}, "raw", true, false},
		{"middle double star zero dirs", []string{"a/**/b"}, "a/b", false, true},
		{"middle double star many dirs", []string{"a/**/b"}, "a/x/y/b", false, true},
		{"question mark", []string{"f?.bin"}, "f1.bin", false, true},
		{"question mark not slash", []string{"a?b"}, "a/b", false, false},
		{"class", []string{"f[0-2].bin"}, "f1.bin", false, true},
		{"class out of range", []string{"f[0-2].bin"}, "f7.bin", false, false},
		{"negated class", []string{"f[!0-2].bin"}, "f7.bin", false, true},
		{"negation re-includes", []string{"*.bin", "!keep.bin"}, "d/keep.bin", false, false},
		{"last match wins", []string{"!keep.bin", "*.bin"}, "keep.bin", false, true},
		{"comment ignored", []string{"#x"}, "#x", false, false},
		{"escaped hash", []string{`\#x`}, "#x", false, true},
		{"escaped bang", []string{`\!x`}, "!x", false, true},
		{"trailing spaces trimmed", []string{"a.txt  "}, "a.txt", false, true},
		{"regexp metachar literal", []string{"a+b(1).txt"}, "a+b(1).txt", false, true},
		{"dot is literal", []string{"a.txt"}, "abtxt", false, false},
		{"non utf8 name", []string{"*.bin"}, "d/\xff\xfe.bin", false, true},
		{"no patterns", nil, "a", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(tt.path, tt.isDir); got != tt.want {
				t.Errorf("Match(%q, %v) with %q = %v, want %v", tt.path, tt.isDir, tt.patterns, got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	if _, err := Compile([]string{"f[0-2"}); err == nil {
		t.Fatal("unclosed bracket: want error")
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"*.tmp", "a/**/b", "[!a]", `\`, "[", "!", "/", "**"} {
		f.Add(s, "a/b/c")
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		m, err := Compile([]string{pattern})
		if err != nil {
			return
		}
		m.Match(path, false)
		m.Match(path, true)
	})
}

// An escaped path matches itself and nothing its characters would match
// as a pattern.
func TestEscape(t *testing.T) {
	for _, p := range []string{"a*b/[x]?.txt", `back\slash`, "trailing ", "!bang/#hash", "**/x", "plain/mlci.lock"} {
		m, err := Compile([]string{"/" + Escape(p)})
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		if !m.Match(p, false) {
			t.Errorf("/%s does not match %q", Escape(p), p)
		}
		if other := p + "x"; m.Match(other, false) {
			t.Errorf("/%s matches %q", Escape(p), other)
		}
	}
	m, _ := Compile([]string{"/" + Escape("a*b")})
	if m.Match("aXb", false) {
		t.Error(`escaped "a*b" matches "aXb"`)
	}
}
