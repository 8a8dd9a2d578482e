package action

// A renderer of GitLab CI/CD components and the checks GitLab applies to
// the result, for the tests in template_test.go.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const (
	templateFile = "../templates/mlci/template.yml"
	schemaFile   = "../templates/mlci/testdata/gitlab-ci-schema.json"
	exampleFile  = "../templates/mlci/testdata/example.gitlab-ci.yml"
	readmeFile   = "../README.md"
	// schemaID is the $id GitLab's schema declares for itself.
	schemaID = "https://gitlab.com/.gitlab-ci.yml"
)

// releasedImage is what the image input defaults to: the image a release
// publishes, tagged with the full version of that release.
var releasedImage = regexp.MustCompile(`^ghcr\.io/mlci/mlci:(v\d+\.\d+\.\d+)$`)

// componentInput is one entry of spec:inputs as GitLab reads it.
type componentInput struct {
	Description string    `yaml:"description"`
	Type        string    `yaml:"type"`
	Default     yaml.Node `yaml:"default"` // Kind 0: no default, the input is required
	Options     []any     `yaml:"options"`
	Regex       string    `yaml:"regex"`
}

// component is a CI/CD component file: a header document declaring the
// inputs, then the jobs, which hold $[[ inputs.X ]] blocks until rendered.
type component struct {
	header map[string]any
	inputs map[string]componentInput
	jobs   any
}

func parseComponent(data []byte) (component, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var head yaml.Node
	if err := dec.Decode(&head); err != nil {
		return component{}, fmt.Errorf("header: %w", err)
	}
	var c component
	if err := head.Decode(&c.header); err != nil {
		return component{}, fmt.Errorf("header: %w", err)
	}
	var spec struct {
		Spec struct {
			Inputs map[string]componentInput `yaml:"inputs"`
		} `yaml:"spec"`
	}
	if err := head.Decode(&spec); err != nil {
		return component{}, fmt.Errorf("spec: %w", err)
	}
	c.inputs = spec.Spec.Inputs
	if err := dec.Decode(&c.jobs); err != nil {
		return component{}, fmt.Errorf("jobs: want a second document after ---: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return component{}, errors.New("want exactly two documents: the spec and the jobs")
	}
	return c, nil
}

func loadComponent(t *testing.T) component {
	t.Helper()
	data, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseComponent(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// render does what GitLab does when a pipeline includes the component with
// the given inputs: every input gets its value or default, checked against
// its type, regex and options, and is interpolated into the jobs.
func (c component) render(given map[string]any) (map[string]any, error) {
	for name := range given {
		if _, ok := c.inputs[name]; !ok {
			return nil, fmt.Errorf("unknown input %q", name)
		}
	}
	values := make(map[string]any, len(c.inputs))
	for name, in := range c.inputs {
		v, ok := given[name]
		if !ok {
			if in.Default.Kind == 0 {
				return nil, fmt.Errorf("input %q is required", name)
			}
			if err := in.Default.Decode(&v); err != nil {
				return nil, fmt.Errorf("input %q: default: %w", name, err)
			}
		}
		if err := in.check(v); err != nil {
			return nil, fmt.Errorf("input %q: %w", name, err)
		}
		values[name] = v
	}
	out, err := interpolate(c.jobs, values)
	if err != nil {
		return nil, err
	}
	jobs, ok := out.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the jobs document is a %T, not a mapping", out)
	}
	return jobs, nil
}

func (in componentInput) check(v any) error {
	switch typ := cmp.Or(in.Type, "string"); typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%v is not a string", v)
		}
		if in.Regex != "" {
			re, err := regexp.Compile(in.Regex)
			if err != nil {
				return err
			}
			if !re.MatchString(s) {
				return fmt.Errorf("%q does not match %s", s, in.Regex)
			}
		}
	case "number":
		switch v.(type) {
		case int, float64:
		default:
			return fmt.Errorf("%v is not a number", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%v is not a boolean", v)
		}
	case "array":
		if _, ok := v.([]any); !ok {
			return fmt.Errorf("%v is not an array", v)
		}
	default:
		return fmt.Errorf("unknown type %q", typ)
	}
	if len(in.Options) > 0 && !slices.ContainsFunc(in.Options, func(o any) bool { return reflect.DeepEqual(o, v) }) {
		return fmt.Errorf("%v is not one of %v", v, in.Options)
	}
	return nil
}

var (
	interpolation = regexp.MustCompile(`\$\[\[\s*(.*?)\s*\]\]`)
	// Only plain input references are rendered; a template that starts
	// using interpolation functions fails here until the renderer knows them.
	inputRef = regexp.MustCompile(`^inputs\.([A-Za-z0-9_-]+)$`)
)

// interpolate walks a decoded document after YAML parsing, as GitLab does,
// so an input that is a whole value keeps its type (rules get an array).
func interpolate(node any, values map[string]any) (any, error) {
	switch n := node.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, v := range n {
			key, err := interpolateString(k, values)
			if err != nil {
				return nil, err
			}
			ks, ok := key.(string)
			if !ok {
				return nil, fmt.Errorf("key %q became a %T", k, key)
			}
			if out[ks], err = interpolate(v, values); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			var err error
			if out[i], err = interpolate(v, values); err != nil {
				return nil, err
			}
		}
		return out, nil
	case string:
		return interpolateString(n, values)
	default:
		return n, nil
	}
}

func interpolateString(s string, values map[string]any) (any, error) {
	locs := interpolation.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		if strings.Contains(s, "$[[") {
			return nil, fmt.Errorf("unclosed interpolation in %q", s)
		}
		return s, nil
	}
	lookup := func(expr string) (any, error) {
		m := inputRef.FindStringSubmatch(expr)
		if m == nil {
			return nil, fmt.Errorf("unsupported interpolation %q", expr)
		}
		v, ok := values[m[1]]
		if !ok {
			return nil, fmt.Errorf("the jobs use undeclared input %q", m[1])
		}
		return v, nil
	}
	if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(s) {
		return lookup(s[locs[0][2]:locs[0][3]])
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		b.WriteString(s[last:l[0]])
		v, err := lookup(s[l[2]:l[3]])
		if err != nil {
			return nil, err
		}
		if str, ok := v.(string); ok {
			b.WriteString(str)
		} else {
			j, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			b.Write(j)
		}
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func loadSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// Keys of a pipeline that are not jobs.
var globalKeys = []string{"spec", "stages", "workflow", "include", "variables", "default",
	"image", "services", "cache", "before_script", "after_script"}

// exposeAs is the format GitLab accepts for artifacts:expose_as
// (lib/gitlab/ci/config/entry/artifacts.rb, EXPOSE_AS_REGEX).
var exposeAs = regexp.MustCompile(`^\w[-\w ]*$`)

// checkGitLab checks what GitLab refuses but the schema allows: a job in a
// stage the pipeline does not have, and the rules of artifacts:expose_as
// (at most 100 characters of letters, digits, '-', '_' and spaces; paths
// without '*').
func checkGitLab(cfg map[string]any) error {
	stages := []string{"build", "test", "deploy"}
	if s, ok := cfg["stages"].([]any); ok {
		stages = stages[:0]
		for _, v := range s {
			stages = append(stages, fmt.Sprint(v))
		}
	}
	stages = append(stages, ".pre", ".post")
	for name, v := range cfg {
		if slices.Contains(globalKeys, name) || strings.HasPrefix(name, ".") {
			continue
		}
		job, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("job %s is a %T", name, v)
		}
		if stage := fmt.Sprint(cmp.Or[any](job["stage"], "test")); !slices.Contains(stages, stage) {
			return fmt.Errorf("job %s: stage %q is not one of %v", name, stage, stages)
		}
		art, _ := job["artifacts"].(map[string]any)
		if art["expose_as"] == nil {
			continue
		}
		if s, ok := art["expose_as"].(string); !ok || len(s) > 100 || !exposeAs.MatchString(s) {
			return fmt.Errorf("job %s: expose_as %v: only letters, digits, '-', '_' and spaces, at most 100", name, art["expose_as"])
		}
		paths, _ := art["paths"].([]any)
		if len(paths) == 0 {
			return fmt.Errorf("job %s: expose_as needs artifacts:paths", name)
		}
		for _, p := range paths {
			if strings.Contains(fmt.Sprint(p), "*") {
				return fmt.Errorf("job %s: path %v: no '*' with expose_as", name, p)
			}
		}
	}
	return nil
}

// merge lays the local configuration over an included one as GitLab does:
// mappings merge key by key, anything else is replaced.
func merge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		b, bok := out[k].(map[string]any)
		o, ook := v.(map[string]any)
		if bok && ook {
			out[k] = merge(b, o)
		} else {
			out[k] = v
		}
	}
	return out
}
