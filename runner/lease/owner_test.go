package lease

import (
	"os"
	"os/exec"
	"testing"
)

func TestParseStat(t *testing.T) {
	// 20 fields after the command name; field 22 (start time) is the 20th.
	const tail = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21\n"
	tests := []struct {
		name      string
		line      string
		wantStart uint64
		wantState byte
		wantErr   bool
	}{
		{name: "plain", line: "42 (bash)" + tail, wantStart: 987654, wantState: 'S'},
		{name: "spaces in comm", line: "42 (my worker 7)" + tail, wantStart: 987654, wantState: 'S'},
		{name: "parentheses in comm", line: "42 (a) Z (b))" + tail, wantStart: 987654, wantState: 'S'},
		{name: "zombie", line: "42 (x) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 5 20", wantStart: 5, wantState: 'Z'},
		{name: "no closing paren", line: "42 (bash S 1 2", wantErr: true},
		{name: "too few fields", line: "42 (bash) S 1 2 3", wantErr: true},
		{name: "start not a number", line: "42 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x 20", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStat(%q) error = %v, want error %v", tt.line, err, tt.wantErr)
			}
			if err == nil && (got.start != tt.wantStart || got.state != tt.wantState) {
				t.Errorf("parseStat(%q) = start %d state %c, want start %d state %c", tt.line, got.start, got.state, tt.wantStart, tt.wantState)
			}
		})
	}
}

// exitedOwner returns the Owner of a child process that has run and been
// waited for, so its pid names no process (or, if reused, another start time).
func exitedOwner(t *testing.T) Owner {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Not yet waited for, so at least its zombie still has a /proc entry.
	o, err := ProcessOwner(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOwnerAlive(t *testing.T) {
	self := Self()
	if self.PID != os.Getpid() || self.Start == 0 {
		t.Fatalf("Self() = %+v, want this pid with a start time", self)
	}
	tests := []struct {
		name  string
		owner Owner
		want  bool
	}{
		{name: "self", owner: self, want: true},
		{name: "self with unknown start", owner: Owner{PID: self.PID}, want: true},
		{name: "reused pid: start differs", owner: Owner{PID: self.PID, Start: self.Start + 1}, want: false},
		{name: "exited and waited child", owner: exitedOwner(t), want: false},
		{name: "pid 0", owner: Owner{PID: 0}, want: false},
		{name: "pid -1", owner: Owner{PID: -1, Start: 1}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.owner.Alive(); got != tt.want {
				t.Errorf("%+v.Alive() = %v, want %v", tt.owner, got, tt.want)
			}
		})
	}
}

func TestProcessOwnerErrors(t *testing.T) {
	for _, pid := range []int{0, -5} {
		if _, err := ProcessOwner(pid); err == nil {
			t.Errorf("ProcessOwner(%d) = nil error, want one", pid)
		}
	}
	o := exitedOwner(t)
	if _, err := ProcessOwner(o.PID); err == nil {
		t.Errorf("ProcessOwner(%d) of an exited process = nil error, want one", o.PID)
	}
}
