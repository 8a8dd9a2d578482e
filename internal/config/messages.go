package config

import (
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	suggestpkg "github.com/mlci/mlci/internal/suggest"
)

// Message pieces shared by the walker's errors. They describe YAML in the
// user's terms (a list, a mapping, true or false), never Go types.

func name(p string) string {
	if p == "" {
		return "the config"
	}
	return p
}

func where(p string) string {
	if p == "" {
		return "at top level"
	}
	return "in " + p
}

// expect says what a value of type t looks like in YAML.
func expect(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if textual(t) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string"
		}
		return "a list of " + plural(t.Elem())
	case reflect.Struct:
		if unmarshals(t) {
			return "a string or a mapping"
		}
		return "a mapping"
	case reflect.Map:
		return "a mapping"
	}
	switch p := plural(t); p {
	case "true or false":
		return p
	case "values":
		return "a valid value"
	default:
		return "a " + strings.TrimSuffix(p, "s")
	}
}

func plural(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isInteger(t.Kind()) {
		return "whole numbers"
	}
	if textual(t) {
		return "strings"
	}
	switch t.Kind() {
	case reflect.String:
		return "strings"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "numbers"
	case reflect.Slice, reflect.Array:
		return "lists"
	case reflect.Map:
		return "mappings"
	case reflect.Struct:
		if unmarshals(t) {
			return "strings or mappings"
		}
		return "mappings"
	}
	return "values"
}

// describe says what the user wrote, short and on one line.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!int", "!!float", "!!bool":
		// As written, so 5 and "5" read differently, unless quoting is
		// needed to show what the value holds.
		if len(n.Value) <= 40 && strconv.Quote(n.Value) == `"`+n.Value+`"` && !strings.Contains(n.Value, " ") {
			return n.Value
		}
	}
	return short(n.Value)
}

// short quotes s for a message, cut so one bad value cannot flood a CI log.
func short(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// suggest returns the known key closest to key if it is close enough to be
// a typo.
func suggest(key string, known []string) string {
	if c := suggestpkg.Closest(key, known, 1); len(c) > 0 {
		return c[0]
	}
	return ""
}

func isInteger(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uintptr
}
