package runnercli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mlci/mlci/runner/runnercli"
)

// stateCheck runs `mlci-runner --json check` and returns its state line.
// The engine is down (withoutEngine), so check always fails; only the
// state line matters here.
func stateCheck(t *testing.T, h *host) (level, say string) {
	t.Helper()
	r := h.run("--json", "check")
	var rs []struct{ Level, What, Say string }
	if err := json.Unmarshal([]byte(r.stdout), &rs); err != nil {
		t.Fatalf("--json output: %v\n%s%s", err, r.stdout, r.stderr)
	}
	for _, c := range rs {
		if c.What == "state" {
			return c.Level, c.Say
		}
	}
	t.Fatalf("no state check in %+v", rs)
	return "", ""
}

// currentUser is the name check and start-up give the state dir's owner.
func currentUser(t *testing.T) string {
	t.Helper()
	u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
	if err != nil {
		return "uid " + strconv.Itoa(os.Geteuid())
	}
	return u.Username
}

// The state directory must be 0700 and the runner's own: anyone else who
// can read it sees which job holds which GPU, and anyone who can write it
// can forge or delete leases.
func TestCheckStateDir(t *testing.T) {
	withoutEngine(t)
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		root    bool   // needs root to give the directory away
		level   string // ok or fail
		says    []string
	}{
		{name: "missing", prepare: func(*testing.T, string) {}, level: "ok", says: []string{"will be created (mode 0700)"}},
		{name: "0700", prepare: mkdirMode(0o700), level: "ok", says: []string{"mode 0700"}},
		{name: "0755", prepare: mkdirMode(0o755), level: "fail", says: []string{"0755", "must be 0700", "chmod 700 "}},
		{name: "0750", prepare: mkdirMode(0o750), level: "fail", says: []string{"0750", "chmod 700 "}},
		{name: "0701", prepare: mkdirMode(0o701), level: "fail", says: []string{"0701", "chmod 700 "}},
		{name: "0777", prepare: mkdirMode(0o777), level: "fail", says: []string{"0777", "chmod 700 "}},
		{name: "a file", prepare: func(t *testing.T, dir string) { writeFile(t, dir, "") }, level: "fail", says: []string{"not a directory"}},
		{
			name: "another user's",
			prepare: func(t *testing.T, dir string) {
				mkdirMode(0o700)(t, dir)
				if err := os.Chown(dir, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			},
			root:  true,
			level: "fail",
			says:  []string{"owned by ", "chown "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				t.Skip("giving a directory to another user needs root")
			}
			h, _ := healthyHost(t)
			dir := h.env["MLCI_RUNNER_STATE_DIR"]
			tt.prepare(t, dir)
			before, beforeErr := os.Stat(dir)
			level, say := stateCheck(t, h)
			if level != tt.level {
				t.Errorf("state: %s %q, want %s", level, say, tt.level)
			}
			for _, w := range append(tt.says, dir) {
				if !strings.Contains(say, w) {
					t.Errorf("state says %q, want %q in it", say, w)
				}
			}
			if tt.name == "another user's" && !strings.Contains(say, "chown "+currentUser(t)+" "+dir) {
				t.Errorf("state says %q, want the chown to %s", say, currentUser(t))
			}
			// check looks; it neither creates nor repairs the directory.
			after, afterErr := os.Stat(dir)
			switch {
			case os.IsNotExist(beforeErr) != os.IsNotExist(afterErr):
				t.Errorf("check created %s", dir)
			case beforeErr == nil && before.Mode() != after.Mode():
				t.Errorf("check changed %s from %v to %v", dir, before.Mode(), after.Mode())
			}
		})
	}
}

// Start-up refuses a state directory another user owns or could write, in
// the words check uses; one only readable by others is narrowed to 0700.
func TestStateDirAtStartUp(t *testing.T) {
	withoutEngine(t)
	commands := []struct {
		name string
		args []string
	}{
		{"leases", []string{"leases"}},
		{"quarantine", []string{"gpus", "quarantine", "GPU-00000000-0000-0000-0000-000000000001", "--reason", "fan"}},
		{"unquarantine", []string{"gpus", "unquarantine", "GPU-00000000-0000-0000-0000-000000000001"}},
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		root    bool
		refused bool
	}{
		{name: "writable by others", prepare: mkdirMode(0o777), refused: true},
		{name: "writable by the group", prepare: mkdirMode(0o770), refused: true},
		{name: "another user's", prepare: func(t *testing.T, dir string) {
			mkdirMode(0o700)(t, dir)
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, root: true, refused: true},
		{name: "readable by others", prepare: mkdirMode(0o755)},
	}
	for _, tt := range tests {
		for _, cmd := range commands {
			t.Run(tt.name+"/"+cmd.name, func(t *testing.T) {
				if tt.root && os.Geteuid() != 0 {
					t.Skip("giving a directory to another user needs root")
				}
				h, _ := healthyHost(t)
				dir := h.env["MLCI_RUNNER_STATE_DIR"]
				tt.prepare(t, dir)
				_, say := stateCheck(t, h)
				r := h.run(cmd.args...)
				st, err := os.Stat(dir)
				if err != nil {
					t.Fatal(err)
				}
				if !tt.refused {
					if r.code != runnercli.ExitOK {
						t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
					}
					if st.Mode().Perm() != 0o700 {
						t.Errorf("state dir left at mode %v, want narrowed to 0700", st.Mode().Perm())
					}
					return
				}
				if r.code != runnercli.ExitFailed {
					t.Errorf("exit %d, want %d; stdout %q", r.code, runnercli.ExitFailed, r.stdout)
				}
				oneErrorLine(t, r.stderr, say)
				if tt.name != "another user's" && st.Mode().Perm() == 0o700 {
					t.Error("start-up repaired a directory others could write; it must refuse it")
				}
			})
		}
	}
}

// A state directory mlci-runner creates itself is 0700, whatever the umask.
func TestStateDirCreated0700(t *testing.T) {
	for _, umask := range []int{0o022, 0o077, 0o277} {
		t.Run(fmt.Sprintf("umask %04o", umask), func(t *testing.T) {
			h, _ := healthyHost(t)
			dir := h.env["MLCI_RUNNER_STATE_DIR"]
			// The umask is the process's: no test in this package runs in
			// parallel.
			old := syscall.Umask(umask)
			r := h.run("leases")
			syscall.Umask(old)
			if r.code != runnercli.ExitOK {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			st, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o700 {
				t.Errorf("created %s with mode %v, want 0700", dir, st.Mode().Perm())
			}
		})
	}
}

func mkdirMode(mode os.FileMode) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		// Chmod, unlike Mkdir, is not narrowed by the umask.
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
}
