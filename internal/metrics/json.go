package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// jsonReader walks the token stream rather than decoding into maps: only
// the stream shows duplicate keys (which encoding/json silently collapses)
// and offsets to turn into line numbers.
type jsonReader struct {
	*builder
	data []byte
	dec  *json.Decoder
	// end is the offset just past the last good token; errors are reported
	// at the token after it, since the decoder's own offsets are relative
	// to the value it was scanning.
	end int64
	// pos and line count newlines up to pos, incrementally, because tokens
	// come in order and recounting from the start would be quadratic.
	pos  int64
	line int
}

func (b *builder) readJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep the digits: float64 via json would round twice
	r := &jsonReader{builder: b, data: data, dec: dec, line: 1}
	tok, err := r.token()
	if err != nil {
		return err
	}
	if _, ok := tok.(json.Delim); !ok {
		return r.errAt(r.lineAt(r.end), `the file holds a single value, not an object of metrics; name it, as in {"accuracy": 0.9}`)
	}
	if err := r.value(tok, "", 0); err != nil {
		return err
	}
	if rest := skipSpace(data, int(r.end)); rest < len(data) {
		return r.errAt(r.lineAt(int64(rest)), "unexpected text after the top-level JSON value; a metrics file holds one object")
	}
	return nil
}

func (r *jsonReader) token() (json.Token, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return nil, r.syntax(err)
	}
	r.end = r.dec.InputOffset()
	return tok, nil
}

// lineAt returns the 1-based line of offset off.
func (r *jsonReader) lineAt(off int64) int {
	off = min(off, int64(len(r.data)))
	if off < r.pos {
		return 1 + bytes.Count(r.data[:off], []byte{'\n'})
	}
	r.line += bytes.Count(r.data[r.pos:off], []byte{'\n'})
	r.pos = off
	return r.line
}

func (r *jsonReader) value(tok json.Token, key string, depth int) error {
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return r.tooDeep(r.lineAt(r.end))
		}
		if t == '{' {
			return r.object(key, depth+1)
		}
		return r.array(key, depth+1)
	case json.Number:
		line := r.lineAt(r.end)
		f, ok, err := r.parseDecimal(string(t), line)
		if err != nil {
			return err
		}
		if !ok { // the decoder has checked the syntax; be safe anyway
			return r.errAt(line, "cannot read %q as a number; fix the value", string(t))
		}
		return r.add(key, Value{Kind: Number, Num: f, Line: line})
	case string:
		return r.add(key, Value{Kind: String, Str: t, Line: r.lineAt(r.end)})
	case bool:
		return r.add(key, Value{Kind: Bool, Bool: t, Line: r.lineAt(r.end)})
	case nil:
		return r.add(key, Value{Kind: Null, Line: r.lineAt(r.end)})
	}
	return r.errAt(r.lineAt(r.end), "unexpected JSON token %v; fix the syntax", tok)
}

func (r *jsonReader) object(prefix string, depth int) error {
	var seen map[string]int // key -> line; made lazily, most objects are small
	for r.dec.More() {
		tok, err := r.token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return r.errAt(r.lineAt(r.end), "expected a quoted key; fix the syntax")
		}
		line := r.lineAt(r.end)
		if first, dup := seen[key]; dup {
			return r.errAt(line, "duplicate key %q (first at line %d); keep one, JSON readers silently drop the other", key, first)
		}
		if seen == nil {
			seen = map[string]int{}
		}
		seen[key] = line
		if tok, err = r.token(); err != nil {
			return err
		}
		if err := r.value(tok, join(prefix, key), depth); err != nil {
			return err
		}
	}
	_, err := r.token()
	return err
}

func (r *jsonReader) array(prefix string, depth int) error {
	for i := 0; r.dec.More(); i++ {
		tok, err := r.token()
		if err != nil {
			return err
		}
		if err := r.value(tok, join(prefix, strconv.Itoa(i)), depth); err != nil {
			return err
		}
	}
	_, err := r.token()
	return err
}

// syntax turns a decoder error into an *Error at the line of the token that
// failed, with a specific message for the non-standard NaN and Infinity
// that Python's json module writes by default.
func (r *jsonReader) syntax(err error) error {
	at := skipSeparators(r.data, int(r.end))
	line := r.lineAt(int64(at))
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.errAt(line, "invalid JSON: the file ends in the middle of a value; check for a missing } or ]")
	}
	for _, word := range []string{"NaN", "-NaN", "Infinity", "-Infinity", "+Infinity", "nan", "inf", "-inf"} {
		if rest := r.data[at:]; bytes.HasPrefix(rest, []byte(word)) && !isWordByte(rest, len(word)) {
			return r.notFinite(line, word)
		}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return r.errAt(line, "invalid JSON: %s; fix the syntax", se.Error())
	}
	return r.errAt(line, "invalid JSON: %v; fix the syntax", err)
}

func isWordByte(b []byte, i int) bool {
	if i >= len(b) {
		return false
	}
	c := b[i]
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipSeparators finds where the token after offset i starts.
func skipSeparators(data []byte, i int) int {
	for i = skipSpace(data, min(i, len(data))); i < len(data) && (data[i] == ',' || data[i] == ':'); {
		i = skipSpace(data, i+1)
	}
	return i
}
