package bootstrap

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
)

func (r *reader) jsonl(data []byte) error {
	path := r.s.Path
	if isBlank(data) {
		return errAt(path, 1, "file is empty; write one JSON object per example, one per line")
	}
	line := 0
	for len(data) > 0 {
		line++
		var text []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			text, data = data, nil
		}
		text = bytes.TrimSpace(text) // also drops the \r of CRLF files
		if len(text) == 0 {
			continue // blank lines are common at the end of generated files
		}
		if err := r.jsonLine(line, text); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) jsonLine(line int, text []byte) error {
	path := r.s.Path
	if text[0] != '{' {
		what := "invalid JSON"
		if json.Valid(text) {
			what = "a JSON " + jsonType(text)
		}
		return errAt(path, line, "line is %s, not a JSON object; write one {...} object per example per line", what)
	}
	if !json.Valid(text) {
		err := json.Unmarshal(text, new(any)) // only for its message
		return errAt(path, line, "invalid JSON: %v; write one complete JSON object per line", err)
	}
	// Scanning the validated object for the two members is about 5x faster
	// than decoding it into a map, which matters at 10^5 lines. Like
	// encoding/json, a repeated key keeps its last value.
	var rawID, rawScore []byte
	members(text, func(key, val []byte) {
		switch {
		case keyIs(key, r.idField):
			rawID = val
		case keyIs(key, r.scoreField):
			rawScore = val
		}
	})
	if rawID == nil {
		return r.missing(line, text, r.idField, "id")
	}
	if rawScore == nil {
		return r.missing(line, text, r.scoreField, "score")
	}
	var id string
	switch t := jsonType(rawID); t {
	case "string":
		id = unquote(rawID)
	case "number":
		id = string(rawID) // as written, so 7 and 7.0 stay distinct ids
	default:
		return errAt(path, line, "id field %s is a %s; write the id as a string or number", quote(r.idField), t)
	}
	var v float64
	switch t := jsonType(rawScore); t {
	case "number":
		f, err := strconv.ParseFloat(string(rawScore), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return errAt(path, line, "score %s for id %s is not a number; write a JSON number or true/false", quote(string(rawScore)), quote(id))
		}
		if v, err = r.finite(line, id, string(rawScore), f); err != nil {
			return err
		}
	case "bool":
		if string(rawScore) == "true" {
			v = 1
		}
	default:
		return errAt(path, line, "score field %s for id %s is a %s (%s), not a number; write the score as a JSON number or true/false",
			quote(r.scoreField), quote(id), t, quote(string(rawScore)))
	}
	return r.add(line, id, v)
}

// missing reports a field absent from the JSON object text, listing the
// fields it has because the usual cause is a typo or another convention.
func (r *reader) missing(line int, text []byte, name, what string) error {
	var ks []string
	members(text, func(key, _ []byte) { ks = append(ks, unquote(key)) })
	slices.Sort(ks) // in a fixed order so messages are reproducible
	return errAt(r.s.Path, line, "no field %s (fields: %s); pass the name of the %s field", quote(name), quoteList(slices.Compact(ks), 20), what)
}

// jsonType names the type of a valid JSON value by its first byte.
func jsonType(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty value"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// members calls fn with the raw key (quoted) and raw value of each member
// of obj, which must be a valid JSON object; validity is why it can skip
// every syntax check.
func members(obj []byte, fn func(key, val []byte)) {
	i := 1 // after '{'
	for {
		i = skipSpace(obj, i)
		if obj[i] == '}' {
			return
		}
		k := i
		i = skipValue(obj, i)
		key := obj[k:i]
		i = skipSpace(obj, skipSpace(obj, i)+1) // the ':'
		v := i
		i = skipValue(obj, i)
		fn(key, obj[v:i])
		if i = skipSpace(obj, i); obj[i] == ',' {
			i++
		}
	}
}

func skipSpace(b []byte, i int) int {
	for b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' {
		i++
	}
	return i
}

// skipValue returns the index just after the valid JSON value at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	// A number, true, false or null runs to the next delimiter.
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++
	}
	return i
}

func skipString(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++ // the escaped byte cannot end the string
		}
	}
	return i + 1
}

// keyIs reports whether the raw JSON string key decodes to name, without
// allocating in the common plain-ASCII case.
func keyIs(raw []byte, name string) bool {
	if plain(raw) {
		return string(raw[1:len(raw)-1]) == name
	}
	return unquote(raw) == name
}

// plain reports whether a raw JSON string needs no decoding: no escapes,
// and no non-ASCII bytes, which encoding/json would check for valid UTF-8.
func plain(raw []byte) bool {
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// unquote decodes a valid JSON string the way encoding/json does.
func unquote(raw []byte) string {
	if plain(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // cannot fail: raw is a valid JSON string
	return s
}
