package config

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The walker checks the YAML tree against the Go types before yaml.v3
// decodes it. yaml.v3 ignores unknown keys (or, with KnownFields, names Go
// types in its messages); walking the types by reflection gives every
// section, including ones added later, unknown-key errors with positions and
// suggestions, and type errors in the user's terms, without per-field code.
type walker struct {
	file string
	root reflect.Type // of the whole document, to say where misplaced keys go
	// pos maps value paths such as "data[1].path" to where they were written,
	// so validation after decoding can point at a line.
	pos map[string]*yaml.Node
	// budget bounds the work that aliases can multiply, the way yaml.v3
	// bounds its own decoding.
	budget int
	// active holds alias targets being walked, to stop anchors that merge
	// themselves from recursing forever.
	active map[*yaml.Node]bool
}

func newWalker(file string, root reflect.Type, doc *yaml.Node) *walker {
	n, stack := 0, []*yaml.Node{doc}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = append(stack[:len(stack)-1], top.Content...)
		n++
	}
	return &walker{file: file, root: root, pos: map[string]*yaml.Node{}, budget: 10*n + 100000, active: map[*yaml.Node]bool{}}
}

func (w *walker) errAt(n *yaml.Node, format string, args ...any) error {
	return &Error{File: w.file, Line: max(n.Line, 0), Col: max(n.Column, 0), Msg: fmt.Sprintf(format, args...)}
}

func (w *walker) spend(n *yaml.Node) error {
	if w.budget--; w.budget < 0 {
		return w.errAt(n, "anchors and aliases expand to too much; write the repeated parts out")
	}
	return nil
}

// value checks n against t; p names the value in messages ("" is the root).
func (w *walker) value(n *yaml.Node, t reflect.Type, p string) error {
	if p != "" {
		w.pos[p] = n
	}
	return w.walk(n, n, t, p)
}

// walk checks n, which site (the place the user wrote, possibly an alias)
// stands for.
func (w *walker) walk(site, n *yaml.Node, t reflect.Type, p string) error {
	if err := w.spend(site); err != nil {
		return err
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil {
			return w.errAt(n, "alias *%s has no anchor; define &%s before using it", n.Value, n.Value)
		}
		if w.active[target] {
			return w.errAt(n, "alias *%s refers to a value that contains it; remove the loop", n.Value)
		}
		w.active[target] = true
		defer delete(w.active, target)
		return w.walk(site, target, t, p)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return nil // yaml.v3 leaves the zero value; validation decides if that is allowed
	case t == reflect.TypeFor[yaml.Node]() || t.Kind() == reflect.Interface:
		return nil
	case isLeaf(t):
		// Let yaml.v3 judge scalars so that what passes here decodes later,
		// except that it truncates floats into integers: version 1.5 is
		// a mistake, not version 1.
		tag := n.ShortTag()
		if tag == "!!str" && t.Kind() == reflect.String && n.Kind == yaml.ScalarNode {
			return nil // the common case, without a decoder per string
		}
		float := tag == "!!float" && isInteger(t.Kind())
		// yaml.v3 fills a struct field by field from a mapping even when
		// the struct reads text, so only a scalar may stand for one.
		text := textual(t) && n.Kind != yaml.ScalarNode
		if !float && !text && n.Decode(reflect.New(t).Interface()) == nil {
			return nil
		}
		return w.typeErr(site, n, t, p)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.MappingNode {
			return w.mapping(n, t, p)
		}
		if n.Kind == yaml.ScalarNode && unmarshals(t) && n.Decode(reflect.New(t).Interface()) == nil {
			return nil
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				ip := fmt.Sprintf("%s[%d]", p, i)
				// yaml.v3 drops null items, which would shift every later
				// index away from its line.
				if isNull(c) {
					return w.errAt(c, "%s is empty; fill it in or remove the entry", ip)
				}
				if err := w.value(c, t.Elem(), ip); err != nil {
					return err
				}
			}
			return nil
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			return w.mapping(n, t, p)
		}
	}
	return w.typeErr(site, n, t, p)
}

func (w *walker) typeErr(site, n *yaml.Node, t reflect.Type, p string) error {
	return w.errAt(site, "%s must be %s, got %s", name(p), expect(t), describe(n))
}

// mapping checks the keys of a struct (or map) mapping and walks their values.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, p string) error {
	var fields []field
	var rest reflect.Type // type of keys not in fields, if any are allowed
	if t.Kind() == reflect.Struct {
		fields, rest = fieldsOf(t)
	} else {
		rest = t.Elem()
	}
	// Merged keys first, so explicit keys override them as in yaml.v3.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; isMerge(k) {
			if err := w.merge(n.Content[i+1], t, p); err != nil {
				return err
			}
		}
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return w.errAt(k, "keys %s must be plain names, got %s", where(p), describe(k))
		}
		if prev := seen[k.Value]; prev != nil {
			return w.errAt(k, "duplicate key %s %s (first at line %d); keep one", short(k.Value), where(p), prev.Line)
		}
		seen[k.Value] = k
		sub := k.Value
		if p != "" {
			sub = p + "." + k.Value
		}
		fi := slices.IndexFunc(fields, func(f field) bool { return f.name == k.Value })
		switch {
		case fi >= 0:
			if err := w.value(v, fields[fi].typ, sub); err != nil {
				return err
			}
		case rest != nil:
			if err := w.value(v, rest, sub); err != nil {
				return err
			}
		default:
			return w.unknown(k, fields, p)
		}
	}
	return nil
}

// merge walks the mappings a "<<" key pulls in, as part of the same value.
func (w *walker) merge(v *yaml.Node, t reflect.Type, p string) error {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	for _, it := range items {
		m := it
		if it.Kind == yaml.AliasNode {
			m = it.Alias
		}
		if m == nil || m.Kind != yaml.MappingNode {
			return w.errAt(it, "<< %s must merge a mapping or a list of mappings", where(p))
		}
		if w.active[m] {
			return w.errAt(it, "<< %s merges a mapping that contains it; remove the loop", where(p))
		}
		if err := w.spend(it); err != nil {
			return err
		}
		w.active[m] = true
		err := w.mapping(m, t, p)
		delete(w.active, m)
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) unknown(k *yaml.Node, fields []field, p string) error {
	var names []string
	for _, f := range fields {
		names = append(names, f.name)
	}
	known := strings.Join(names, ", ")
	key := short(k.Value)
	// A known key at the wrong level is nearly always an indentation slip;
	// say where it belongs rather than suggest a look-alike.
	if homes := homesOf(w.root, k.Value, "", map[reflect.Type]bool{}); len(homes) > 0 {
		return w.errAt(k, "unknown key %s %s; it belongs %s, so check the indentation (known keys here: %s)",
			key, where(p), strings.Join(homes, " or "), known)
	}
	if s := suggest(k.Value, names); s != "" {
		return w.errAt(k, "unknown key %s %s; did you mean %q? (known keys: %s)", key, where(p), s, known)
	}
	if len(names) == 0 {
		return w.errAt(k, "unknown key %s %s; remove it", key, where(p))
	}
	return w.errAt(k, "unknown key %s %s; remove it or use one of: %s", key, where(p), known)
}

// homesOf lists where in the schema under t (reached by path p) the key is
// a field, worded by home.
func homesOf(t reflect.Type, key, p string, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		if t.Kind() != reflect.Pointer {
			p += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || isLeaf(t) || seen[t] {
		return nil
	}
	seen[t] = true // only along this path: recursive types would never end
	defer delete(seen, t)
	var homes []string
	fields, _ := fieldsOf(t)
	for _, f := range fields {
		if f.name == key {
			homes = append(homes, home(p))
		}
		sub := f.name
		if p != "" {
			sub = p + "." + f.name
		}
		homes = append(homes, homesOf(f.typ, key, sub, seen)...)
	}
	return homes
}

// home names a schema path for people: "data[]" is "in data items".
func home(p string) string {
	if p == "" {
		return "at the top level"
	}
	if s, ok := strings.CutSuffix(p, "[]"); ok {
		return "in " + strings.ReplaceAll(s, "[]", "") + " items"
	}
	return "in " + strings.ReplaceAll(p, "[]", "")
}

type field struct {
	name string
	typ  reflect.Type
}

// fieldsOf lists the keys yaml.v3 would fill in t, in declaration order.
// rest is the element type of an ",inline" map, which takes any other key.
func fieldsOf(t reflect.Type) (fields []field, rest reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if !f.IsExported() && !f.Anonymous || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Map:
				rest = ft.Elem()
			case reflect.Struct:
				sub, r := fieldsOf(ft)
				fields = append(fields, sub...)
				if r != nil {
					rest = r
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields = append(fields, field{name, f.Type})
	}
	return fields, rest
}

func unmarshals(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]())
}

// textual reports whether t is written as a string in YAML, though Go
// holds it parsed (a stage's Requirement).
func textual(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// isLeaf reports whether yaml.v3 fills t from a single node by itself.
func isLeaf(t reflect.Type) bool {
	if textual(t) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		return false
	case reflect.Map, reflect.Slice, reflect.Array:
		return unmarshals(t) || t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	}
	return true
}

// isNull follows aliases too: "- *nothing" is dropped just like "- ~".
func isNull(n *yaml.Node) bool {
	for range 8 { // anchors cannot be put on aliases, so one step is enough
		if n.Kind != yaml.AliasNode || n.Alias == nil {
			break
		}
		n = n.Alias
	}
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}
