package metrics

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlReader walks the node tree rather than decoding into maps, because
// only nodes carry line numbers and show duplicate keys.
type yamlReader struct {
	*builder
	// budget bounds the work that aliases can multiply (a "billion laughs"
	// file), the way yaml.v3 bounds its own decoding.
	budget int
	// active holds alias targets being walked, to stop anchors that contain
	// themselves from recursing forever.
	active map[*yaml.Node]bool
}

type yamlEntry struct {
	key  string
	line int
	val  *yaml.Node
}

func (b *builder) readYAML(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // comments only
			return b.empty()
		}
		return b.yamlError(err)
	}
	// DVC's YAML loader refuses several documents, and silently reading
	// only the first would gate on half the file.
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return b.yamlError(err)
		}
		return b.errAt(next.Line, "a second YAML document starts here; keep one document per metrics file")
	}
	if len(doc.Content) == 0 {
		return b.empty()
	}
	root := doc.Content[0]
	for root.Kind == yaml.AliasNode && root.Alias != nil {
		root = root.Alias
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" && root.Value == "" {
		return b.empty()
	}
	nodes, stack := 0, []*yaml.Node{root}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = append(stack[:len(stack)-1], top.Content...)
		nodes++
	}
	r := &yamlReader{builder: b, budget: 2*nodes + 100000, active: map[*yaml.Node]bool{}}
	return r.node(root, "", 0)
}

// yamlError turns yaml.v3's "yaml: line N: msg" into an *Error at line N.
func (b *builder) yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	return b.errAt(line, "invalid YAML: %s; fix the syntax", msg)
}

func (r *yamlReader) spend(line int, n int) error {
	if r.budget -= n; r.budget < 0 {
		return r.errAt(line, "YAML anchors and aliases expand to too many values; write the repeated parts out")
	}
	return nil
}

// deref follows aliases, refusing cycles.
func (r *yamlReader) deref(n *yaml.Node) (*yaml.Node, error) {
	line := n.Line
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, r.errAt(line, "alias to an unknown anchor; define the anchor first")
		}
		if r.active[n.Alias] {
			return nil, r.errAt(line, "anchor %q contains an alias to itself; remove the loop", n.Value)
		}
		n = n.Alias
	}
	return n, nil
}

func (r *yamlReader) node(n *yaml.Node, key string, depth int) error {
	if depth >= maxDepth {
		return r.tooDeep(n.Line)
	}
	if err := r.spend(n.Line, 1); err != nil {
		return err
	}
	if n.Kind == yaml.AliasNode {
		target, err := r.deref(n)
		if err != nil {
			return err
		}
		r.active[target] = true
		defer delete(r.active, target)
		return r.node(target, key, depth+1)
	}
	switch n.Kind {
	case yaml.MappingNode:
		entries, err := r.entries(n, depth)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := r.node(e.val, join(key, e.key), depth+1); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		// DVC counts no list as a metric, and shows a params list as one
		// value: Python's str() of it.
		if !r.params || key == "" && len(n.Content) == 0 {
			return nil
		}
		out, err := r.repr(nil, n, depth)
		if err != nil {
			return err
		}
		return r.add(key, Value{Kind: String, Str: string(out), Line: n.Line})
	case yaml.ScalarNode:
		v, err := r.scalar(n)
		if err != nil {
			return err
		}
		if !r.keep(v, n, key) {
			return nil
		}
		return r.add(key, v)
	default:
		return r.errAt(n.Line, "unexpected YAML node; fix the syntax")
	}
	return nil
}

// keep says whether a scalar is a value of the file. DVC's metrics are
// numbers, booleans and strings: a null or a date (which DVC's YAML loader
// makes a datetime) is none. A null param is kept, except as the whole
// file, which DVC reads as empty.
func (r *yamlReader) keep(v Value, n *yaml.Node, key string) bool {
	if v.Kind == Null {
		return r.params && key != ""
	}
	switch n.ShortTag() {
	case "!!timestamp", "!!binary":
		return r.params
	}
	return true
}

// repr appends Python's repr of the value n to out, as DVC's str() of a
// params list writes it.
func (r *yamlReader) repr(out []byte, n *yaml.Node, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return nil, r.tooDeep(n.Line)
	}
	if err := r.spend(n.Line, 1); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.AliasNode:
		target, err := r.deref(n)
		if err != nil {
			return nil, err
		}
		r.active[target] = true
		defer delete(r.active, target)
		return r.repr(out, target, depth+1)
	case yaml.MappingNode:
		entries, err := r.entries(n, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, '{')
		for i, e := range entries {
			if i > 0 {
				out = append(out, ", "...)
			}
			out = append(appendPyStr(out, e.key), ": "...)
			if out, err = r.repr(out, e.val, depth+1); err != nil {
				return nil, err
			}
		}
		return append(out, '}'), nil
	case yaml.SequenceNode:
		out = append(out, '[')
		for i, c := range n.Content {
			if i > 0 {
				out = append(out, ", "...)
			}
			var err error
			if out, err = r.repr(out, c, depth+1); err != nil {
				return nil, err
			}
		}
		return append(out, ']'), nil
	case yaml.ScalarNode:
		v, err := r.scalar(n)
		if err != nil {
			return nil, err
		}
		return appendPyValue(out, v), nil
	}
	return nil, r.errAt(n.Line, "unexpected YAML node; fix the syntax")
}

// entries lists a mapping's keys and values, with "<<" merge keys expanded
// the way YAML loaders do: keys written in the mapping win over merged ones,
// and earlier merges win over later ones. Params files use merges to share
// settings between stages.
func (r *yamlReader) entries(n *yaml.Node, depth int) ([]yamlEntry, error) {
	if depth >= maxDepth {
		return nil, r.tooDeep(n.Line)
	}
	if err := r.spend(n.Line, len(n.Content)/2); err != nil {
		return nil, err
	}
	out := make([]yamlEntry, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := r.deref(n.Content[i])
		if err != nil {
			return nil, err
		}
		line := n.Content[i].Line
		if k.Kind != yaml.ScalarNode {
			return nil, r.errAt(line, "a mapping key is a list or a mapping; use a plain name")
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, n.Content[i+1])
			continue
		}
		if first, dup := seen[k.Value]; dup {
			return nil, r.errAt(line, "duplicate key %q (first at line %d); keep one", k.Value, first)
		}
		seen[k.Value] = line
		out = append(out, yamlEntry{key: k.Value, line: line, val: n.Content[i+1]})
	}
	for _, m := range merges {
		sources, err := r.mergeSources(m)
		if err != nil {
			return nil, err
		}
		for _, src := range sources {
			r.active[src] = true
			sub, err := r.entries(src, depth+1)
			delete(r.active, src)
			if err != nil {
				return nil, err
			}
			for _, e := range sub {
				if _, ok := seen[e.key]; !ok {
					seen[e.key] = e.line
					out = append(out, e)
				}
			}
		}
	}
	return out, nil
}

// mergeSources returns the mappings a "<<" value names: one, or a list.
func (r *yamlReader) mergeSources(m *yaml.Node) ([]*yaml.Node, error) {
	line := m.Line
	m, err := r.deref(m)
	if err != nil {
		return nil, err
	}
	list := []*yaml.Node{m}
	if m.Kind == yaml.SequenceNode {
		list = m.Content
	}
	out := make([]*yaml.Node, 0, len(list))
	for _, item := range list {
		src, err := r.deref(item)
		if err != nil {
			return nil, err
		}
		if src.Kind != yaml.MappingNode {
			return nil, r.errAt(line, "<< must merge a mapping or a list of mappings; fix the merge key")
		}
		out = append(out, src)
	}
	return out, nil
}

func (r *yamlReader) scalar(n *yaml.Node) (Value, error) {
	v := Value{Line: n.Line}
	switch n.ShortTag() {
	case "!!null":
		v.Kind = Null
	case "!!bool":
		if err := n.Decode(&v.Bool); err != nil {
			return Value{}, r.errAt(n.Line, "cannot read %q as true or false; fix the value", n.Value)
		}
		v.Kind = Bool
	case "!!int", "!!float":
		f, err := r.number(n)
		if err != nil {
			return Value{}, err
		}
		v.Kind, v.Num, v.Int = Number, f, n.ShortTag() == "!!int"
	default:
		// Strings, and timestamps and custom tags, which DVC shows as text.
		v.Kind, v.Str = String, n.Value
	}
	return v, nil
}

func (r *yamlReader) number(n *yaml.Node) (float64, error) {
	if isDecimal(n.Value) { // the common case, without a decoder per value
		if f, ok, err := r.parseDecimal(n.Value, n.Line); err != nil || ok {
			return f, err
		}
	}
	var x any
	if err := n.Decode(&x); err != nil {
		return 0, r.errAt(n.Line, "cannot read %q as a number; fix the value", n.Value)
	}
	var f float64
	switch x := x.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case float64:
		f = x
	default:
		return 0, r.errAt(n.Line, "cannot read %q as a number; fix the value", n.Value)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, r.notFinite(n.Line, n.Value)
	}
	return f, nil
}
