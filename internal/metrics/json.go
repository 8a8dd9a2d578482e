package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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

// value reads the value tok starts and adds its leaves under key. A whole
// file that is null holds nothing, as DVC reads it (json.loads(text) or {}).
func (r *jsonReader) value(tok json.Token, key string, depth int) error {
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return r.tooDeep(r.lineAt(r.end))
		}
		if t == '{' {
			return r.object(key, depth+1)
		}
		return r.list(key, depth+1)
	case json.Number:
		line := r.lineAt(r.end)
		v, err := r.number(t, line)
		if err != nil {
			return err
		}
		return r.add(key, v)
	case string:
		return r.add(key, Value{Kind: String, Str: t, Line: r.lineAt(r.end)})
	case bool:
		return r.add(key, Value{Kind: Bool, Bool: t, Line: r.lineAt(r.end)})
	case nil:
		if !r.params || key == "" {
			return nil // not a metric; an empty params file
		}
		return r.add(key, Value{Kind: Null, Line: r.lineAt(r.end)})
	}
	return r.errAt(r.lineAt(r.end), "unexpected JSON token %v; fix the syntax", tok)
}

func (r *jsonReader) number(t json.Number, line int) (Value, error) {
	f, ok, err := r.parseDecimal(string(t), line)
	if err != nil {
		return Value{}, err
	}
	if !ok { // the decoder has checked the syntax; be safe anyway
		return Value{}, r.errAt(line, "cannot read %q as a number; fix the value", string(t))
	}
	return Value{Kind: Number, Num: f, Int: isIntText(string(t)), Line: line}, nil
}

// list reads a list whose "[" was just read. DVC counts no list as a
// metric, and shows a params list as one value: Python's str() of it.
func (r *jsonReader) list(key string, depth int) error {
	line := r.lineAt(r.end)
	if !r.params {
		return r.compound('[', depth, nil)
	}
	out := []byte{}
	if err := r.compound('[', depth, &out); err != nil {
		return err
	}
	if key == "" && len(out) == 2 {
		return nil // a file holding [] holds nothing, as DVC reads it
	}
	return r.add(key, Value{Kind: String, Str: string(out), Line: line})
}

// compound reads the rest of a list or object whose opening token was
// just read, checking it as the rest of the file is checked, and appends
// Python's repr of it to out unless out is nil.
func (r *jsonReader) compound(open json.Delim, depth int, out *[]byte) error {
	put := func(s string) {
		if out != nil {
			*out = append(*out, s...)
		}
	}
	opening, closing := "[", "]"
	if open == '{' {
		opening, closing = "{", "}"
	}
	put(opening)
	var seen map[string]int
	for i := 0; r.dec.More(); i++ {
		if i > 0 {
			put(", ")
		}
		tok, err := r.token()
		if err != nil {
			return err
		}
		if open == '{' {
			key, ok := tok.(string)
			if !ok {
				return r.errAt(r.lineAt(r.end), "expected a quoted key; fix the syntax")
			}
			if seen, err = r.checkKey(seen, key); err != nil {
				return err
			}
			if out != nil {
				*out = appendPyStr(*out, key)
			}
			put(": ")
			if tok, err = r.token(); err != nil {
				return err
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			if depth >= maxDepth {
				return r.tooDeep(r.lineAt(r.end))
			}
			if err := r.compound(t, depth+1, out); err != nil {
				return err
			}
		case json.Number:
			if out == nil {
				continue // nothing is read from a dropped list
			}
			v, err := r.number(t, r.lineAt(r.end))
			if err != nil {
				return err
			}
			*out = appendPyValue(*out, v)
		case string:
			if out != nil {
				*out = appendPyStr(*out, t)
			}
		case bool:
			if out != nil {
				*out = appendPyBool(*out, t)
			}
		case nil:
			put("None")
		}
	}
	if _, err := r.token(); err != nil {
		return err
	}
	put(closing)
	return nil
}

// checkKey refuses a key an object already has, recording it in seen
// (made lazily: most objects are small).
func (r *jsonReader) checkKey(seen map[string]int, key string) (map[string]int, error) {
	line := r.lineAt(r.end)
	if first, dup := seen[key]; dup {
		return seen, r.errAt(line, "duplicate key %q (first at line %d); keep one, JSON readers silently drop the other", key, first)
	}
	if seen == nil {
		seen = map[string]int{}
	}
	seen[key] = line
	return seen, nil
}

func (r *jsonReader) object(prefix string, depth int) error {
	var seen map[string]int
	for r.dec.More() {
		tok, err := r.token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return r.errAt(r.lineAt(r.end), "expected a quoted key; fix the syntax")
		}
		if seen, err = r.checkKey(seen, key); err != nil {
			return err
		}
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
