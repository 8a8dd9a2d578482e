package registry

import (
	"errors"
	"testing"
	"time"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
		ok   bool
	}{
		{"clf#prod", Ref{Artifact: "clf", Stage: "prod"}, true},
		{"clf@v1.2.3", Ref{Artifact: "clf", Version: "v1.2.3"}, true},
		{"clf@latest", Ref{Artifact: "clf", Latest: true}, true},
		{"clf@greatest", Ref{Artifact: "clf", Latest: true}, true},
		{"models/nlp:bert#staging", Ref{Artifact: "models/nlp:bert", Stage: "staging"}, true},
		{"clf", Ref{}, false},
		{"clf@1.2.3", Ref{}, false},
		{"clf#prod#3", Ref{}, false},
		{"clf#", Ref{}, false},
		{"-clf#prod", Ref{}, false},
		{"models/nlp=bert#staging", Ref{}, false}, // "=" is the tag form
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestResolve(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var events []Event
	for i, s := range [][2]string{
		{"clf@v1.0.0", "c1"}, {"clf@v1.1.0", "c2"}, {"clf#dev#1", "c2"}, {"clf#prod#2", "c1"}, {"clf#qa#3", "c3"},
		{"old@v1.0.0", "c1"}, {"old@deprecated", "c1"},
	} {
		tag, _ := ParseTag(s[0])
		events = append(events, Event{Tag: tag, Name: s[0], Commit: s[1], Time: t0.Add(time.Duration(i) * time.Second)})
	}
	models := State(events)
	tests := []struct {
		ref     string
		version string
		err     error
		msg     string
	}{
		{ref: "clf#dev", version: "v1.1.0"},
		{ref: "clf#prod", version: "v1.0.0"},
		{ref: "clf@latest", version: "v1.1.0"},
		{ref: "clf@v1.0.0", version: "v1.0.0"},
		{ref: "clf#staging", err: ErrNoStage, msg: "no version of clf is in staging (stages with a version: dev, prod, qa)"},
		{ref: "clf#qa", err: ErrNoStage, msg: "clf#qa is commit c3 (tag clf#qa#3), which has no registered version"},
		{ref: "clf@v9.0.0", err: ErrNotRegistered, msg: "clf v9.0.0 is not registered (versions: v1.0.0, v1.1.0)"},
		{ref: "nope#prod", err: ErrNotRegistered, msg: "no versions of nope are registered; run mlci model register nope"},
		{ref: "old#prod", err: ErrDeprecated},
	}
	for _, tt := range tests {
		ref, err := ParseRef(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Resolve(models, ref)
		switch {
		case tt.err == nil && (err != nil || v.Version != tt.version):
			t.Errorf("Resolve(%s) = %s, %v; want %s", tt.ref, v.Version, err, tt.version)
		case tt.err != nil && !errors.Is(err, tt.err):
			t.Errorf("Resolve(%s) error %v, want %v", tt.ref, err, tt.err)
		case tt.msg != "" && err.Error() != tt.msg:
			t.Errorf("Resolve(%s) error %q, want %q", tt.ref, err, tt.msg)
		}
	}
}
