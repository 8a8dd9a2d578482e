package registry

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests in this file replay GTO's own test inputs (testdata/gto, whose
// README names each source) and expect GTO's results.

func readGTOJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "gto", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// readGTOTags reads a list of annotated tags: name, commit, tagger date.
func readGTOTags(t *testing.T, name string) []Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "gto", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			t.Fatalf("%s: bad line %q", name, sc.Text())
		}
		tag, ok := ParseTag(fields[0])
		if !ok {
			t.Fatalf("%s: ParseTag(%q) failed", name, fields[0])
		}
		ts, err := time.Parse(time.RFC3339, fields[2])
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, Event{Tag: tag, Name: fields[0], Commit: fields[1], Time: ts})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// gtoAction is GTO's name for a tag's action (gto/constants.py Action).
func gtoAction(k Kind) string {
	return map[Kind]string{
		KindRegistration: "register", KindDeregistration: "deregister",
		KindAssignment: "assign", KindUnassignment: "unassign", KindDeprecation: "deprecate",
	}[k]
}

func TestParseTagAsGTO(t *testing.T) {
	var names struct {
		ParseName []struct {
			Tag  string
			Want struct {
				Name, Version, Action, Stage string
				Counter                      json.Number
			}
		} `json:"parse_name"`
		Wrong   []string `json:"wrong_names"`
		Correct []string `json:"correct_names"`
		Valid   []string `json:"valid_names"`
		Invalid []string `json:"invalid_names"`
		InTag   []string `json:"valid_fullnames_in_tag"`
	}
	readGTOJSON(t, "tag_names.json", &names)
	for _, c := range names.ParseName {
		got, ok := ParseTag(c.Tag)
		if !ok {
			t.Errorf("ParseTag(%q) failed", c.Tag)
			continue
		}
		w := c.Want
		if got.Artifact != w.Name || got.Version != w.Version || got.Stage != w.Stage || gtoAction(got.Kind) != w.Action || string(got.Counter) != string(w.Counter) {
			t.Errorf("ParseTag(%q) = %+v, GTO reads %+v", c.Tag, got, w)
		}
	}
	for _, s := range names.Wrong {
		if got, ok := ParseTag(s); ok {
			t.Errorf("ParseTag(%q) = %+v; GTO rejects it", s, got)
		}
	}
	for _, s := range names.Correct {
		if _, ok := ParseTag(s); !ok {
			t.Errorf("ParseTag(%q) failed; GTO reads it", s)
		}
	}
	for _, s := range names.Valid {
		if !validName(s) {
			t.Errorf("validName(%q) = false; GTO accepts it", s)
		}
	}
	for _, s := range names.Invalid {
		if validName(s) {
			t.Errorf("validName(%q) = true; GTO rejects it", s)
		}
	}
	for _, s := range names.InTag {
		if _, ok := ParseTag(s + "@v1.0.0"); !ok {
			t.Errorf("artifact %q in a tag rejected; GTO accepts it", s)
		}
	}
}

// TestStateExampleGTOFrozen replays the tags of GTO's sample repository
// and expects what `gto show` and `gto history churn` print for it.
func TestStateExampleGTOFrozen(t *testing.T) {
	models := State(readGTOTags(t, "example-gto-frozen.tags"))
	var want map[string]struct {
		Version    string
		Stage      map[string]*string
		Registered bool
		Active     bool
	}
	readGTOJSON(t, "example-gto-frozen.registry.json", &want)
	for name, m := range models {
		w, listed := want[name]
		// gto show leaves out deprecated artifacts.
		if m.Deprecated == listed {
			t.Errorf("%s: deprecated %v, but gto show lists it: %v", name, m.Deprecated, listed)
		}
		if !listed {
			continue
		}
		if got := m.Versions[len(m.Versions)-1].Version; got != w.Version {
			t.Errorf("%s: latest %s, gto show says %s", name, got, w.Version)
		}
		for stage, v := range w.Stage {
			a := m.Stages[stage]
			switch {
			case v == nil && a != nil:
				t.Errorf("%s#%s = %s, gto show says none", name, stage, a.Version)
			case v != nil && (a == nil || a.Version != *v):
				t.Errorf("%s#%s = %+v, gto show says %s", name, stage, a, *v)
			}
		}
	}
	if len(models) != len(want)+1 {
		t.Errorf("%d artifacts, want %d and deprecated-model", len(models), len(want))
	}

	var history []struct {
		Timestamp, Artifact, Event, Version, Commit, Ref string
		Stage                                            *string
	}
	readGTOJSON(t, "example-gto-frozen.history-churn.json", &history)
	got := models["churn"].History
	if len(got) != len(history) {
		t.Fatalf("churn history has %d events, gto history %d", len(got), len(history))
	}
	for i, w := range history {
		e := got[len(got)-1-i] // gto history is newest first
		ts, err := time.Parse("2006-01-02 15:04:05Z07:00", w.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		stage := ""
		if w.Stage != nil {
			stage = *w.Stage
		}
		if e.Name != w.Ref || e.Kind.String() != w.Event || e.Version != w.Version || e.Stage != stage || e.Commit != w.Commit || !e.Time.Equal(ts) {
			t.Errorf("churn history[%d] = %s %s %s %s %s %v; gto history: %+v", i, e.Name, e.Kind, e.Version, e.Stage, e.Commit, e.Time, w)
		}
	}
}

// TestStateGTOShowcase runs the `gto show` and `gto check-ref` calls of
// GTO's CLI test on the tags of its showcase fixture.
func TestStateGTOShowcase(t *testing.T) {
	events := readGTOTags(t, "showcase.tags")
	models := State(events)
	var cases []struct{ Cmd, Out string }
	readGTOJSON(t, "showcase.cases.json", &cases)
	for _, c := range cases {
		t.Run(c.Cmd, func(t *testing.T) {
			args := strings.Fields(c.Cmd)
			var out []string
			switch args[0] {
			case "show":
				ref, err := ParseRef(args[1])
				if err != nil {
					t.Fatal(err)
				}
				var versions []string
				if ref.Stage != "" && slices.Contains(args, "--vs") {
					// --vs -1: every version whose assignment is in effect,
					// in gto show's order (semver, greatest first).
					for _, a := range models[ref.Artifact].holders[ref.Stage] {
						versions = append(versions, a.Version)
					}
					slices.SortFunc(versions, func(a, b string) int { return compareSemver(b, a) })
				} else {
					v, err := Resolve(models, ref)
					if err != nil {
						t.Fatal(err)
					}
					versions = []string{v.Version}
				}
				for _, v := range versions {
					if args[len(args)-1] == "--ref" {
						v = ref.Artifact + "@" + v
					}
					out = append(out, v)
				}
			case "check-ref":
				tag, _ := ParseTag(args[1])
				m := models[tag.Artifact]
				i := slices.IndexFunc(m.History, func(e Event) bool { return e.Name == args[1] })
				if i < 0 {
					t.Fatalf("no event %s", args[1])
				}
				e := m.History[i]
				out = []string{map[string]string{"--name": e.Artifact, "--stage": e.Stage, "--version": e.Version, "--event": e.Kind.String()}[args[2]]}
			}
			if got := strings.Join(out, "\n") + "\n"; got != c.Out {
				t.Errorf("got %q, GTO prints %q", got, c.Out)
			}
		})
	}
}
