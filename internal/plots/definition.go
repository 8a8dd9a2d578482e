package plots

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrUnknownTemplate is returned for a template name mlci cannot draw; the
// message names the ones it can.
var ErrUnknownTemplate = errors.New("unknown plot template")

// Ref is one field of one data file.
type Ref struct {
	File string
	// Field is a column or key name; "" on an x means DVC's step (the row
	// index), and on the y of a bare path "the last column", as DVC does.
	Field string
}

// Definition is one entry of DVC's top-level plots list.
type Definition struct {
	// ID is the plot's key: a data file path, or a free name when y maps
	// files to fields.
	ID string
	// Y holds one entry per series; X the matching x of each (same length),
	// so a single x field, an x per file and a different x file all look
	// alike to Build.
	Y, X []Ref
	// Template is as written; "" means DVC's default, linear.
	Template string
	Kind     Kind
	// Normalized is set by confusion_normalized; Sorted by
	// bar_horizontal_sorted.
	Normalized, Sorted bool
	// Image is set for an image path (DVC shows those as they are); Build
	// skips them because there is no data to draw.
	Image                 bool
	Title, XLabel, YLabel string
}

// template says what a template name draws. The DVC names come from
// `dvc plots templates`; roc and precision_recall are mlci's own, computed
// from per-example label and score.
type template struct {
	name       string
	kind       Kind
	normalized bool
	sorted     bool
}

// templates is the table of names mlci accepts, in the order an error lists
// them.
func templates() []template {
	return []template{
		{name: "linear", kind: Line},
		{name: "simple", kind: Line},
		{name: "smooth", kind: Line},
		{name: "scatter", kind: Scatter},
		{name: "confusion", kind: Confusion},
		{name: "confusion_normalized", kind: Confusion, normalized: true},
		{name: "bar_horizontal", kind: Bar},
		{name: "bar_horizontal_sorted", kind: Bar, sorted: true},
		{name: "roc", kind: ROC},
		{name: "precision_recall", kind: PR},
	}
}

// TemplateNames lists the templates mlci knows.
func TemplateNames() []string {
	var names []string
	for _, t := range templates() {
		names = append(names, t.name)
	}
	return names
}

func lookupTemplate(name string) (template, error) {
	if name == "" {
		name = "linear"
	}
	for _, t := range templates() {
		if t.name == name {
			return t, nil
		}
	}
	return template{}, fmt.Errorf("%w %q (known: %s; custom Vega-Lite templates are not supported)",
		ErrUnknownTemplate, name, strings.Join(TemplateNames(), ", "))
}

// imageExts are the image formats DVC plots show as they are.
func imageExts() []string { return []string{".png", ".jpg", ".jpeg", ".gif", ".svg"} }

// ParseDefinitions reads DVC's top-level plots syntax: either the list
// itself or a whole dvc.yaml, whose plots key is then used.
func ParseDefinitions(data []byte) ([]Definition, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	n := doc.Content[0]
	if n.Kind == yaml.MappingNode {
		n = mapValue(n, "plots")
		if n == nil {
			return nil, nil
		}
	}
	return DecodeDefinitions(n)
}

// DecodeDefinitions reads the plots list from a node already parsed, so a
// config file can hold it under its own key.
func DecodeDefinitions(n *yaml.Node) ([]Definition, error) {
	if n == nil || n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("plots (line %d): want a list of plot definitions", n.Line)
	}
	var defs []Definition
	seen := map[string]bool{}
	for _, item := range n.Content {
		d, err := decodeItem(item)
		if err != nil {
			return nil, err
		}
		if seen[d.ID] {
			return nil, fmt.Errorf("plots (line %d): plot %q is defined twice", item.Line, d.ID)
		}
		seen[d.ID] = true
		defs = append(defs, d)
	}
	return defs, nil
}

func decodeItem(item *yaml.Node) (Definition, error) {
	switch item.Kind {
	case yaml.ScalarNode:
		if item.Value == "" {
			return Definition{}, fmt.Errorf("plots (line %d): empty plot path", item.Line)
		}
		return finish(Definition{ID: item.Value}, item.Line)
	case yaml.MappingNode:
		if len(item.Content) != 2 {
			return Definition{}, fmt.Errorf("plots (line %d): a plot is one key (its path or ID) with its settings; indent the settings under the key", item.Line)
		}
		key, props := item.Content[0], item.Content[1]
		if key.Kind != yaml.ScalarNode || key.Value == "" {
			return Definition{}, fmt.Errorf("plots (line %d): a plot's key must be a path or an ID", key.Line)
		}
		d := Definition{ID: key.Value}
		if props.Kind == yaml.ScalarNode && props.Tag == "!!null" {
			return finish(d, key.Line)
		}
		if props.Kind != yaml.MappingNode {
			return Definition{}, fmt.Errorf("plots %q (line %d): settings must be a map", d.ID, props.Line)
		}
		return decodeProps(d, props)
	default:
		return Definition{}, fmt.Errorf("plots (line %d): want a path or a map", item.Line)
	}
}

func decodeProps(d Definition, props *yaml.Node) (Definition, error) {
	var xNode, yNode *yaml.Node
	for i := 0; i+1 < len(props.Content); i += 2 {
		k, v := props.Content[i], props.Content[i+1]
		switch k.Value {
		case "x":
			xNode = v
		case "y":
			yNode = v
		case "template", "title", "x_label", "y_label":
			if v.Kind != yaml.ScalarNode {
				return Definition{}, fmt.Errorf("plots %q (line %d): %s must be a string", d.ID, v.Line, k.Value)
			}
			switch k.Value {
			case "template":
				d.Template = v.Value
			case "title":
				d.Title = v.Value
			case "x_label":
				d.XLabel = v.Value
			case "y_label":
				d.YLabel = v.Value
			}
		default:
			// DVC's schema refuses unknown keys; so do we, so a typo
			// (y_lable) is not silently a default.
			return Definition{}, fmt.Errorf("plots %q (line %d): unknown setting %q (known: x, y, template, title, x_label, y_label)", d.ID, k.Line, k.Value)
		}
	}
	// DVC tells a path ID from a free one by the shape of y: a map of
	// files means the ID is only a name.
	if yNode != nil && yNode.Kind == yaml.MappingNode {
		ys, err := fileFields(d.ID, "y", yNode)
		if err != nil {
			return Definition{}, err
		}
		d.Y = ys
		switch {
		case xNode == nil:
			d.X = make([]Ref, len(ys))
			for i, y := range ys {
				d.X[i] = Ref{File: y.File}
			}
		case xNode.Kind == yaml.ScalarNode:
			d.X = make([]Ref, len(ys))
			for i, y := range ys {
				d.X[i] = Ref{File: y.File, Field: xNode.Value}
			}
		case xNode.Kind == yaml.MappingNode:
			xs, err := fileFields(d.ID, "x", xNode)
			if err != nil {
				return Definition{}, err
			}
			// DVC pairs the x map with the y map entry by entry.
			if len(xs) != len(ys) {
				return Definition{}, fmt.Errorf("plots %q (line %d): x names %d fields and y %d; an x map needs one x per y", d.ID, xNode.Line, len(xs), len(ys))
			}
			d.X = xs
		default:
			return Definition{}, fmt.Errorf("plots %q (line %d): x must be a field name or a map of file to field", d.ID, xNode.Line)
		}
		return finish(d, yNode.Line)
	}
	var fields []string
	if yNode != nil {
		var err error
		if fields, err = names(d.ID, "y", yNode); err != nil {
			return Definition{}, err
		}
	}
	if len(fields) == 0 {
		fields = []string{""}
	}
	xField := ""
	if xNode != nil {
		if xNode.Kind != yaml.ScalarNode {
			return Definition{}, fmt.Errorf("plots %q (line %d): x must be one field name when the ID is a file (a map of files needs y as a map too)", d.ID, xNode.Line)
		}
		xField = xNode.Value
	}
	for _, f := range fields {
		d.Y = append(d.Y, Ref{File: d.ID, Field: f})
		d.X = append(d.X, Ref{File: d.ID, Field: xField})
	}
	return finish(d, props.Line)
}

// fileFields reads a file → field(s) map, keeping its order.
func fileFields(id, axis string, n *yaml.Node) ([]Ref, error) {
	var refs []Ref
	for i := 0; i+1 < len(n.Content); i += 2 {
		file := n.Content[i].Value
		if file == "" {
			return nil, fmt.Errorf("plots %q (line %d): %s names an empty file", id, n.Content[i].Line, axis)
		}
		fields, err := names(id, axis, n.Content[i+1])
		if err != nil {
			return nil, err
		}
		if len(fields) == 0 {
			return nil, fmt.Errorf("plots %q (line %d): %s gives no field for %s", id, n.Content[i].Line, axis, file)
		}
		for _, f := range fields {
			refs = append(refs, Ref{File: file, Field: f})
		}
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("plots %q (line %d): %s map is empty", id, n.Line, axis)
	}
	return refs, nil
}

// names reads a field name or a list of them.
func names(id, axis string, n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" || n.Value == "" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Value == "" {
				return nil, fmt.Errorf("plots %q (line %d): %s fields must be names", id, c.Line, axis)
			}
			out = append(out, c.Value)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("plots %q (line %d): %s must be a field name or a list of them", id, n.Line, axis)
	}
}

// finish applies the template and the checks that need the whole entry.
func finish(d Definition, line int) (Definition, error) {
	if len(d.Y) == 0 {
		d.Y = []Ref{{File: d.ID}}
		d.X = []Ref{{File: d.ID}}
	}
	if slices.Contains(imageExts(), strings.ToLower(path.Ext(d.ID))) && d.Y[0].File == d.ID {
		d.Image = true
		return d, nil
	}
	t, err := lookupTemplate(d.Template)
	if err != nil {
		return Definition{}, fmt.Errorf("plots %q (line %d): %w", d.ID, line, err)
	}
	d.Kind, d.Normalized, d.Sorted = t.kind, t.normalized, t.sorted
	switch d.Kind {
	case Confusion, Bar, ROC, PR:
		// These read one named field per axis: the step or "the last
		// column" means nothing for them.
		for i := range d.Y {
			if d.Y[i].Field == "" || d.X[i].Field == "" {
				return Definition{}, fmt.Errorf("plots %q (line %d): template %s needs both x and y fields", d.ID, line, t.name)
			}
		}
	}
	return d, nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
