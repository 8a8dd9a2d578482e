package register

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge/githubfake"
)

func TestUndo(t *testing.T) {
	errStep := errors.New("write secret: read-only file system")
	errUnreg := errors.New("github: unregister runner 7: HTTP 502")
	tests := []struct {
		name     string
		cancel   bool // the caller's ctx already ended
		unregErr error
	}{
		{name: "removed"},
		{name: "removed after ctx ended", cancel: true},
		{name: "removing fails", unregErr: errUnreg},
		{name: "removing fails after ctx ended", cancel: true, unregErr: errUnreg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			called := false
			err := Undo(ctx, errStep, func(uctx context.Context) error {
				called = true
				if uctx.Err() != nil {
					t.Errorf("unregister's ctx has ended: %v", uctx.Err())
				}
				if d, ok := uctx.Deadline(); !ok || time.Until(d) > UnregisterTimeout {
					t.Errorf("unregister's ctx deadline %v (set %v), want within %v", d, ok, UnregisterTimeout)
				}
				return tt.unregErr
			})
			if !called {
				t.Fatal("unregister was not called")
			}
			if !errors.Is(err, errStep) {
				t.Errorf("err = %v, want the step's error", err)
			}
			var ue *UndoError
			if got := errors.As(err, &ue); got != (tt.unregErr != nil) {
				t.Fatalf("err %v is an *UndoError: %v, want %v", err, got, tt.unregErr != nil)
			}
			if ue == nil {
				if err != errStep {
					t.Errorf("err = %#v, want the step's error unchanged", err)
				}
				return
			}
			if ue.Undo != errUnreg {
				t.Errorf("Undo = %v, want %v", ue.Undo, errUnreg)
			}
			msg := err.Error()
			for _, want := range []string{errStep.Error(), errUnreg.Error(), "still registered", "by hand"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans lines", msg)
			}
		})
	}
}

// A forge that creates the runner but answers without the secret that
// starts it must not leave that runner behind.
func TestRegisterWithheldSecret(t *testing.T) {
	undoFails := githubfake.Fault{Method: "DELETE", Status: 502, Header: map[string]string{"Retry-After": "0"}, Times: 100}
	tests := []struct {
		name string
		run  func(t *testing.T, undoFails bool) (left int, err error)
	}{
		{"github", func(t *testing.T, fail bool) (int, error) {
			f, c := newGitHub(t)
			f.WithholdSecret()
			if fail {
				f.Fail(undoFails)
			}
			_, err := RegisterGitHub(context.Background(), c, GitHubTarget{Owner: "o", Repo: "r"}, GitHubOptions{Name: "box", Labels: []string{"gpu"}})
			return len(f.Runners("repos/o/r")), err
		}},
		{"gitlab", func(t *testing.T, fail bool) (int, error) {
			f, c := newGitLab(t)
			f.WithholdSecret()
			if fail {
				f.Fail(undoFails)
			}
			_, err := RegisterGitLab(context.Background(), c, GitLabOptions{ProjectID: 7, Tags: []string{"gpu"}})
			return len(f.Runners()), err
		}},
	}
	for _, tt := range tests {
		for _, fail := range []bool{false, true} {
			name := tt.name
			if fail {
				name += "/undo fails"
			}
			t.Run(name, func(t *testing.T) {
				left, err := tt.run(t, fail)
				if !fail {
					checkErr(t, err, []error{ErrService}, "without a runner id")
					if left != 0 {
						t.Errorf("%d runner(s) left behind", left)
					}
					return
				}
				checkErr(t, err, []error{ErrService}, "by hand")
				var ue *UndoError
				if !errors.As(err, &ue) || !strings.Contains(ue.Undo.Error(), "502") {
					t.Errorf("err = %v, want an *UndoError with the 502", err)
				}
				if left != 1 {
					t.Errorf("%d runner(s) on the forge, want the 1 that could not be removed", left)
				}
			})
		}
	}
}
