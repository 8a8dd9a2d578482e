package lease

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAcquireMessages(t *testing.T) {
	ecc := gpus(8)
	ecc[0].Healthy, ecc[0].Reason = false, "uncorrected ECC errors"
	for i := 3; i < 8; i++ {
		ecc[i].MemoryTotal = 40 * gib
	}
	stray := gpus(2)
	stray[1].Busy, stray[1].Reason = true, "pid 4242 (python) holds 3 GiB"

	tests := []struct {
		name         string
		cands        []Candidate
		leased       map[string][]string
		quarantined  map[string]string
		req          Request
		wantErr      error
		wantMsg      string
		wantProgress string
	}{
		{
			name:    "unsatisfiable names the unhealthy GPU",
			cands:   ecc,
			req:     Request{Count: 4, MinMemory: 80 * gib},
			wantErr: ErrUnsatisfiable,
			wantMsg: "job gitlab:9 asks for 4 GPUs with >= 80 GiB, this host has 2 such (8 GPUs; 1 unhealthy: GPU-0: uncorrected ECC errors; 5 with < 80 GiB)",
		},
		{
			name:        "unsatisfiable names quarantine and model",
			cands:       gpus(3),
			quarantined: map[string]string{"GPU-2": "XID 79: fell off the bus"},
			req:         Request{Count: 3, Model: "h100"},
			wantErr:     ErrUnsatisfiable,
			wantMsg:     `job gitlab:9 asks for 3 GPUs matching "h100", this host has 2 such (3 GPUs; 1 quarantined: GPU-2: XID 79: fell off the bus)`,
		},
		{
			name:        "no wait: names the jobs holding GPUs",
			cands:       gpus(8),
			leased:      map[string][]string{"gitlab:1": {"GPU-0", "GPU-1", "GPU-2", "GPU-3"}, "gitlab:2": {"GPU-4", "GPU-5", "GPU-6"}},
			quarantined: map[string]string{"GPU-7": "fan failure"},
			req:         Request{Count: 2},
			wantErr:     ErrTimeout,
			wantMsg:     "no 2 free GPUs and the job does not wait (wait is 0): 8 on this host, 7 leased (jobs gitlab:1, gitlab:2), 1 quarantined (GPU-7: fan failure)",
		},
		{
			name:         "timeout after waiting, with one progress message",
			cands:        stray,
			leased:       map[string][]string{"github:1:2:build": {"GPU-0"}},
			req:          Request{Count: 1, Wait: 30 * time.Millisecond, Poll: time.Millisecond},
			wantErr:      ErrTimeout,
			wantMsg:      "no 1 free GPU after 30ms: 2 on this host, 1 leased (job github:1:2:build), 1 busy with processes no lease explains (GPU-1: pid 4242 (python) holds 3 GiB)",
			wantProgress: "job gitlab:9 waits up to 30ms for 1 free GPU: 2 on this host, 1 leased (job github:1:2:build), 1 busy with processes no lease explains (GPU-1: pid 4242 (python) holds 3 GiB)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			seed(t, s, tt.leased)
			quarantine(t, s, tt.quarantined)
			var progress []string
			req := tt.req
			req.Job, req.Owner, req.Candidates = "gitlab:9", Self(), inventory(tt.cands)
			req.Progress = func(msg string) { progress = append(progress, msg) }
			_, err := s.Acquire(context.Background(), req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Acquire error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantMsg, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			var want []string
			if tt.wantProgress != "" {
				want = []string{tt.wantProgress}
			}
			if diff := cmp.Diff(want, progress); diff != "" {
				t.Errorf("Progress calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAcquireBadRequest(t *testing.T) {
	good := Request{Job: "j", Count: 1, Owner: Self(), Candidates: inventory(gpus(1))}
	tests := []struct {
		name   string
		change func(*Request)
	}{
		{name: "empty job", change: func(r *Request) { r.Job = "" }},
		{name: "zero count", change: func(r *Request) { r.Count = 0 }},
		{name: "no owner", change: func(r *Request) { r.Owner = Owner{} }},
		{name: "negative wait", change: func(r *Request) { r.Wait = -time.Second }},
		{name: "negative poll", change: func(r *Request) { r.Poll = -time.Second }},
		{name: "no inventory", change: func(r *Request) { r.Candidates = nil }},
		{name: "duplicate inventory ID", change: func(r *Request) {
			r.Candidates = inventory([]Candidate{gpu(0, ""), gpu(0, "")})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			tt.change(&req)
			if _, err := newStore(t).Acquire(context.Background(), req); err == nil {
				t.Fatal("Acquire = nil error, want one")
			}
		})
	}
}

func TestAcquireIsIdempotentPerJob(t *testing.T) {
	s := newStore(t)
	req := Request{Job: "github:1:1:test", Count: 2, Owner: Self(), Candidates: inventory(gpus(8))}
	first, err := s.Acquire(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetContainer(req.Job, "c0ffee"); err != nil {
		t.Fatal(err)
	}
	first.Container = "c0ffee"
	// A re-run prepare step may ask differently; it still gets its lease.
	req.Count = 3
	again, err := s.Acquire(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("second Acquire (-first +second):\n%s", diff)
	}
	got, ok, err := s.Get(req.Job)
	if err != nil || !ok {
		t.Fatalf("Get = %v, %v", ok, err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("Get (-acquired +stored):\n%s", diff)
	}
	if ls, _ := s.List(); len(ls) != 1 {
		t.Errorf("List holds %d leases, want 1", len(ls))
	}
}

func TestReleaseIsIdempotent(t *testing.T) {
	s := newStore(t)
	l, err := s.Acquire(context.Background(), Request{Job: "j", Count: 1, Owner: Self(), Candidates: inventory(gpus(1))})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		want      Lease
		wantFound bool
	}{
		{name: "first release returns the lease", want: l, wantFound: true},
		{name: "second release finds nothing", want: Lease{}, wantFound: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := s.Release("j")
			if err != nil || found != tt.wantFound {
				t.Fatalf("Release = %v, %v; want found %v", found, err, tt.wantFound)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Release (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := s.Acquire(context.Background(), Request{Job: "k", Count: 1, Owner: Self(), Candidates: inventory(gpus(1))}); err != nil {
		t.Errorf("Acquire after Release: %v", err)
	}
}

func TestSetContainerWithoutLease(t *testing.T) {
	if err := newStore(t).SetContainer("nobody", "abc"); !errors.Is(err, ErrNoLease) {
		t.Errorf("SetContainer = %v, want ErrNoLease", err)
	}
}

func TestAcquireReclaims(t *testing.T) {
	self := Self()
	tests := []struct {
		name  string
		owner Owner
		ended func(context.Context, Lease) bool
	}{
		{name: "owner exited", owner: exitedOwner(t)},
		{name: "owner pid reused (start time differs)", owner: Owner{PID: self.PID, Start: self.Start + 1}},
		{name: "Ended says the container is gone", owner: self, ended: func(_ context.Context, l Lease) bool { return l.Container == "gone" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			old, err := s.Acquire(context.Background(), Request{Job: "old", Count: 8, Owner: tt.owner, Container: "gone", Candidates: inventory(gpus(8))})
			if err != nil {
				t.Fatal(err)
			}
			var reclaimed []Lease
			l, err := s.Acquire(context.Background(), Request{
				Job: "new", Count: 8, Owner: self, Candidates: inventory(gpus(8)),
				Ended:     tt.ended,
				Reclaimed: func(l Lease) { reclaimed = append(reclaimed, l) },
			})
			if err != nil {
				t.Fatalf("Acquire after the old job ended: %v", err)
			}
			if len(l.IDs) != 8 {
				t.Errorf("got %d GPUs, want 8", len(l.IDs))
			}
			if diff := cmp.Diff([]Lease{old}, reclaimed); diff != "" {
				t.Errorf("Reclaimed calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReclaim(t *testing.T) {
	s := newStore(t)
	self := Self()
	dead := exitedOwner(t)
	// Written directly: an Acquire would already reclaim the dead lease.
	if err := s.writeLeases([]Lease{
		{Job: "live", IDs: []string{"GPU-0"}, Owner: self},
		{Job: "dead", IDs: []string{"GPU-1"}, Owner: dead},
		{Job: "ended", IDs: []string{"GPU-2"}, Owner: self, Container: "gone"},
	}); err != nil {
		t.Fatal(err)
	}
	ended := func(_ context.Context, l Lease) bool { return l.Container == "gone" }
	tests := []struct {
		name      string
		ended     func(context.Context, Lease) bool
		wantGone  []string
		wantStays []string
	}{
		{name: "owner liveness only", wantGone: []string{"dead"}, wantStays: []string{"ended", "live"}},
		{name: "with Ended", ended: ended, wantGone: []string{"ended"}, wantStays: []string{"live"}},
		{name: "nothing left to reclaim", ended: ended, wantStays: []string{"live"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone, err := s.Reclaim(context.Background(), tt.ended)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantGone, jobs(gone)); diff != "" {
				t.Errorf("reclaimed (-want +got):\n%s", diff)
			}
			ls, err := s.List()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantStays, jobs(ls)); diff != "" {
				t.Errorf("left (-want +got):\n%s", diff)
			}
		})
	}
}

func jobs(ls []Lease) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Job)
	}
	return out
}

func TestAcquireWaitsForRelease(t *testing.T) {
	s := newStore(t)
	inv := inventory(gpus(8))
	if _, err := s.Acquire(context.Background(), Request{Job: "holder", Count: 8, Owner: Self(), Candidates: inv}); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan string, 10)
	var (
		got Lease
		err error
		wg  sync.WaitGroup
	)
	wg.Go(func() {
		got, err = s.Acquire(context.Background(), Request{
			Job: "waiter", Count: 2, Owner: Self(), Candidates: inv,
			Wait: time.Minute, Poll: 5 * time.Millisecond,
			Progress: func(msg string) { waiting <- msg },
		})
	})
	msg := <-waiting
	if !strings.Contains(msg, "8 leased (job holder)") {
		t.Errorf("Progress message %q does not name the holder", msg)
	}
	if _, ok, err := s.Release("holder"); !ok || err != nil {
		t.Fatalf("Release = %v, %v", ok, err)
	}
	wg.Wait()
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	if diff := cmp.Diff([]string{"GPU-0", "GPU-1"}, got.IDs); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	if n := len(waiting); n != 0 {
		t.Errorf("Progress called %d more times, want once", n)
	}
}

func TestAcquireStopsOnCancel(t *testing.T) {
	s := newStore(t)
	inv := inventory(gpus(1))
	if _, err := s.Acquire(context.Background(), Request{Job: "holder", Count: 1, Owner: Self(), Candidates: inv}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := s.Acquire(ctx, Request{
		Job: "waiter", Count: 1, Owner: Self(), Candidates: inv,
		Wait: time.Hour, Poll: time.Hour,
		Progress: func(string) { cancel() },
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire = %v, want context.Canceled", err)
	}
	if _, ok, _ := s.Get("waiter"); ok {
		t.Error("a cancelled Acquire left a lease")
	}
}

func TestCorruptState(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		call    func(*Store) error
	}{
		{name: "leases not JSON: List", file: leasesName, content: "{not json", call: func(s *Store) error { _, err := s.List(); return err }},
		{name: "leases not JSON: Acquire", file: leasesName, content: "{not json", call: func(s *Store) error {
			_, err := s.Acquire(context.Background(), Request{Job: "j", Count: 1, Owner: Self(), Candidates: inventory(gpus(1))})
			return err
		}},
		{name: "leases not JSON: Release", file: leasesName, content: "[", call: func(s *Store) error { _, _, err := s.Release("j"); return err }},
		{name: "leases from a newer version", file: leasesName, content: `{"version": 2, "leases": []}`, call: func(s *Store) error { _, _, err := s.Get("j"); return err }},
		{name: "GPU leased twice", file: leasesName, content: `{"version": 1, "leases": [{"job": "a", "ids": ["GPU-0"]}, {"job": "b", "ids": ["GPU-0"]}]}`, call: func(s *Store) error { _, err := s.List(); return err }},
		{name: "quarantine not JSON", file: quarantineName, content: "quarantine GPU-0", call: func(s *Store) error { _, err := s.Quarantined(); return err }},
		{name: "quarantine not JSON: Quarantine", file: quarantineName, content: "}", call: func(s *Store) error { return s.Quarantine("GPU-1", "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			p := filepath.Join(s.dir, tt.file)
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := tt.call(s)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %s", err, p)
			}
			if b, _ := os.ReadFile(p); string(b) != tt.content {
				t.Errorf("the corrupt file was rewritten to %q; it must be left for a person", b)
			}
		})
	}
}

func TestQuarantine(t *testing.T) {
	s := newStore(t)
	steps := []struct {
		name string
		do   func() error
		want map[string]string
	}{
		{name: "add", do: func() error { return s.Quarantine("GPU-1", "XID 48") }, want: map[string]string{"GPU-1": "XID 48"}},
		{name: "add without reason", do: func() error { return s.Quarantine("GPU-2", "") }, want: map[string]string{"GPU-1": "XID 48", "GPU-2": "no reason given"}},
		{name: "new reason replaces old", do: func() error { return s.Quarantine("GPU-1", "XID 79") }, want: map[string]string{"GPU-1": "XID 79", "GPU-2": "no reason given"}},
		{name: "remove", do: func() error { return s.Unquarantine("GPU-2") }, want: map[string]string{"GPU-1": "XID 79"}},
		{name: "remove again is a no-op", do: func() error { return s.Unquarantine("GPU-2") }, want: map[string]string{"GPU-1": "XID 79"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			got, err := s.Quarantined()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(st.want, got); diff != "" {
				t.Errorf("Quarantined (-want +got):\n%s", diff)
			}
		})
	}
	if err := s.Quarantine("", "x"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("Quarantine(\"\") = %v, want ErrBadRequest", err)
	}
}

func TestOpenPermissions(t *testing.T) {
	mkdir := func(mode os.FileMode) func(dir string) error {
		return func(dir string) error {
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			return os.Chmod(dir, mode) // not narrowed by the umask
		}
	}
	tests := []struct {
		name    string
		prepare func(dir string) error
		refused []string // words of the refusal; nil: Open succeeds
	}{
		{name: "created", prepare: func(string) error { return nil }},
		{name: "existing 0700", prepare: mkdir(0o700)},
		// Ours and no one else could write it: narrowed to 0700.
		{name: "existing, readable by others", prepare: mkdir(0o755)},
		{name: "existing, readable by the group", prepare: mkdir(0o750)},
		{name: "existing, not writable by its owner", prepare: mkdir(0o500)},
		// Refused, not repaired: leases in it may already be forged.
		{name: "existing, writable by others", prepare: mkdir(0o777), refused: []string{"mode 0777", "must be 0700", "chmod 700 "}},
		{name: "existing, writable by the group", prepare: mkdir(0o770), refused: []string{"mode 0770", "chmod 700 "}},
		{name: "a file", prepare: func(dir string) error { return os.WriteFile(dir, nil, 0o600) }, refused: []string{"not a directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if err := tt.prepare(dir); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Stat(dir)
			s, err := Open(dir)
			if tt.refused != nil {
				if err == nil {
					t.Fatal("Open succeeded")
				}
				for _, w := range append(tt.refused, dir) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if after, _ := os.Stat(dir); after.Mode() != before.Mode() {
					t.Errorf("Open changed the mode from %v to %v", before.Mode(), after.Mode())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Acquire(context.Background(), Request{Job: "j", Count: 1, Owner: Self(), Candidates: inventory(gpus(1))}); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]os.FileMode{".": 0o700, leasesName: 0o600, lockName: 0o600} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s mode = %v, want %v", name, got, want)
				}
			}
		})
	}
}

// A state directory another user owns is refused, whatever its mode: its
// owner could rewrite the leases at will.
func TestCheckDirOwner(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := checkDir(dir, os.Geteuid()); err != nil {
		t.Fatalf("own 0700 directory: %v", err)
	}
	other := os.Geteuid() + 4242
	err := checkDir(dir, other)
	if err == nil {
		t.Fatal("a directory another user owns passed")
	}
	for _, w := range []string{dir, "is owned by " + userName(os.Geteuid()), "chown " + userName(other) + " " + dir} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}
