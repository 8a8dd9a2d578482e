package registry

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event is one registry tag.
type Event struct {
	Tag
	// Name is the full tag name.
	Name string `json:"tag"`
	// Commit is the commit the tag points at, after peeling.
	Commit string    `json:"commit"`
	Time   time.Time `json:"time"`
	Tagger string    `json:"tagger,omitempty"`
	// Record is nil for tags without mlci's JSON block, such as GTO's own.
	Record *Record `json:"record,omitempty"`
	// Lightweight tags have no date, tagger or message. GTO's state
	// ignores them, but its counter counts them.
	Lightweight bool `json:"-"`
}

// Events lists the registry tags in dir, oldest first, lightweight ones
// (marked, undated) included.
func Events(ctx context.Context, dir string) ([]Event, error) {
	// One for-each-ref call reads every tag, NUL-separated because messages
	// may hold any other byte; the message goes last.
	eventFields := []string{
		"%(refname:lstrip=2)",
		"%(objecttype)",
		"%(objectname)",
		"%(*objecttype)",
		"%(*objectname)",
		"%(taggername)",
		"%(taggerdate:iso-strict)",
		"%(contents)",
	}
	format := strings.Join(eventFields, "%00") + "%00"
	out, err := git(ctx, dir, nil, "for-each-ref", "--format="+format, "refs/tags")
	if err != nil {
		return nil, fmt.Errorf("reading registry tags in %s: %w", dir, err)
	}
	// Each record ends with NUL and for-each-ref's newline, so splitting on
	// NUL leaves that newline at the start of the next record's first field.
	fields := strings.Split(string(out), "\x00")
	n := len(eventFields)
	var events []Event
	var nested []int
	for i := 0; i+n <= len(fields); i += n {
		f := fields[i : i+n]
		name := strings.TrimPrefix(f[0], "\n")
		t, ok := ParseTag(name)
		if !ok {
			continue
		}
		if f[1] != "tag" {
			// Lightweight: GTO's state skips it, its counter does not.
			events = append(events, Event{Tag: t, Name: name, Commit: f[2], Lightweight: true})
			continue
		}
		e := Event{Tag: t, Name: name, Commit: f[4], Tagger: f[5]}
		if ts, err := time.Parse(time.RFC3339, f[6]); err == nil {
			e.Time = ts
		}
		if r, ok := ParseMessage(f[7]); ok {
			e.Record = &r
		}
		if f[3] == "tag" {
			nested = append(nested, len(events))
		} else if f[3] != "commit" {
			continue
		}
		events = append(events, e)
	}
	// %(*objectname) peels once; a tag of a tag, rare but valid, needs
	// rev-parse to reach its commit, as GTO's tag.commit would.
	if len(nested) > 0 {
		events = peelNested(ctx, dir, events, nested)
	}
	sortEvents(events)
	return events, nil
}

// sortEvents orders as GTO's history does, by date, then by kind; tag dates
// have one-second resolution, so the counter and the name break the ties
// GTO leaves open.
func sortEvents(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Kind.priority(), b.Kind.priority()),
			a.Counter.Compare(b.Counter), strings.Compare(a.Name, b.Name))
	})
}

// refetch fetches the remote's tags, and the refs under also (a glob such
// as "refs/x/*") when it is set.
func refetch(ctx context.Context, dir, remote, also string) error {
	if remote == "" {
		return nil // a registry in this clone only
	}
	args := []string{"fetch", "--quiet", "--force", "--tags", remote}
	if also != "" {
		args = append(args, "+"+also+":"+also)
	}
	if _, err := git(ctx, dir, nil, args...); err != nil {
		return fmt.Errorf("fetching registry tags from %s (check the remote and its credentials): %w", remote, err)
	}
	return nil
}

// peelNested resolves the events at the nested indexes to commits, one
// rev-parse each, dropping those that do not end at a commit.
func peelNested(ctx context.Context, dir string, events []Event, nested []int) []Event {
	drop := map[int]bool{}
	for _, i := range nested {
		out, err := git(ctx, dir, nil, "rev-parse", "--verify", "--quiet", "refs/tags/"+events[i].Name+"^{commit}")
		if err != nil {
			drop[i] = true
			continue
		}
		events[i].Commit = strings.TrimSpace(string(out))
	}
	kept := events[:0]
	for i, e := range events {
		if !drop[i] {
			kept = append(kept, e)
		}
	}
	return kept
}
