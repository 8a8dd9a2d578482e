package lease

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests prove the lock across processes, not goroutines: each child
// re-runs this test binary, and TestMain sends it to helperMain instead of
// the tests.
const (
	envMode  = "LEASE_HELPER_MODE" // "stress" or "hold"; unset outside a child
	envDir   = "LEASE_HELPER_DIR"
	envWork  = "LEASE_HELPER_WORK" // markers/, ready/ and the go file
	envJob   = "LEASE_HELPER_JOB"
	envCount = "LEASE_HELPER_COUNT"
)

// hostInventory is the 8-GPU host all children share: two islands of four.
func hostInventory() []Candidate {
	cs := gpus(8)
	for i := range cs {
		cs[i].Island = []string{"A", "B"}[i/4]
	}
	return cs
}

func child(mode, dir, work, job string, count int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(),
		envMode+"="+mode, envDir+"="+dir, envWork+"="+work, envJob+"="+job, envCount+"="+strconv.Itoa(count))
	return cmd
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(envMode); mode != "" {
		helperMain(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// die ends a child with its reason on stderr, which the parent shows.
func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func helperMain(mode string) {
	s, err := Open(os.Getenv(envDir))
	if err != nil {
		die("%v", err)
	}
	count, err := strconv.Atoi(os.Getenv(envCount))
	if err != nil {
		die("%v", err)
	}
	job, work := os.Getenv(envJob), os.Getenv(envWork)
	switch mode {
	case "stress":
		helperStress(s, job, work, count)
	case "hold":
		if _, err := s.Acquire(context.Background(), Request{Job: job, Count: count, Owner: Self(), Candidates: inventory(hostInventory())}); err != nil {
			die("%v", err)
		}
		// Held until the parent's SIGKILL; the bound ends a child whose
		// parent died first (TestMain bypasses -test.timeout).
		time.Sleep(3 * time.Minute)
	default:
		die("unknown %s %q", envMode, mode)
	}
}

func helperStress(s *Store, job, work string, count int) {
	// Start together, so the Acquires really contend.
	if err := os.WriteFile(filepath.Join(work, "ready", job), nil, 0o600); err != nil {
		die("%v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(work, "go")); err == nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	waited := false
	l, err := s.Acquire(context.Background(), Request{
		Job: job, Count: count, Owner: Self(), Candidates: inventory(hostInventory()),
		Wait: 2 * time.Minute, Poll: 5 * time.Millisecond,
		Progress: func(string) { waited = true },
	})
	if err != nil {
		die("%v", err)
	}
	if len(l.IDs) != count {
		die("leased %d GPUs, asked for %d", len(l.IDs), count)
	}
	markers := filepath.Join(work, "markers")
	for _, id := range l.IDs {
		f, err := os.OpenFile(filepath.Join(markers, id), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Printf("DOUBLE ALLOCATION of %s to %s: %v\n", id, job, err)
			die("DOUBLE ALLOCATION of %s to %s: %v", id, job, err)
		}
		f.Close()
	}
	held, err := os.ReadDir(markers)
	if err != nil {
		die("%v", err)
	}
	time.Sleep(5 * time.Millisecond)
	for _, id := range l.IDs {
		if err := os.Remove(filepath.Join(markers, id)); err != nil {
			die("%v", err)
		}
	}
	if _, ok, err := s.Release(job); !ok || err != nil {
		die("Release = %v, %v", ok, err)
	}
	fmt.Printf("RESULT gpus=%d waited=%t held=%d\n", count, waited, len(held))
}

func TestStressSeparateProcesses(t *testing.T) {
	const children = 50
	dir, work := t.TempDir(), t.TempDir()
	for _, d := range []string{"markers", "ready"} {
		if err := os.Mkdir(filepath.Join(work, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		out []byte
		err error
	}
	results := make([]result, children)
	var wg sync.WaitGroup
	for i := range children {
		cmd := child("stress", dir, work, fmt.Sprintf("stress:%d", i), 1+i%2)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			err := cmd.Wait()
			results[i] = result{out.Bytes(), err}
		})
	}
	allExited := make(chan struct{})
	go func() { wg.Wait(); close(allExited) }()
	// Release the children once all are at the barrier, or when all have
	// exited without reaching it (their results then fail the test below).
barrier:
	for {
		ready, err := os.ReadDir(filepath.Join(work, "ready"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ready) == children {
			break
		}
		select {
		case <-allExited:
			break barrier
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := os.WriteFile(filepath.Join(work, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	<-allExited

	var failed, doubles, gpusLeased, waited, maxHeld int
	for i, r := range results {
		if bytes.Contains(r.out, []byte("DOUBLE ALLOCATION")) {
			doubles++
		}
		if r.err != nil {
			failed++
			t.Errorf("child %d: %v\n%s", i, r.err, r.out)
			continue
		}
		var g, h int
		var w bool
		_, line, _ := bytes.Cut(r.out, []byte("RESULT "))
		if _, err := fmt.Sscanf(string(line), "gpus=%d waited=%t held=%d", &g, &w, &h); err != nil {
			t.Errorf("child %d printed no result: %v\n%s", i, err, r.out)
			continue
		}
		gpusLeased += g
		maxHeld = max(maxHeld, h)
		if w {
			waited++
		}
	}
	t.Logf("%d processes over 8 GPUs: %d exited 0, %d failed; %d GPU leases granted; %d processes had to wait; up to %d GPUs held at once; %d double allocations",
		children, children-failed, failed, gpusLeased, waited, maxHeld, doubles)
	if doubles > 0 {
		t.Errorf("%d double allocations", doubles)
	}
	if maxHeld > 8 {
		t.Errorf("%d GPUs held at once on an 8-GPU host", maxHeld)
	}
	if ls, err := (&Store{dir: dir}).List(); err != nil || len(ls) != 0 {
		t.Errorf("after all children released: List = %d leases, %v; want none", len(ls), err)
	}
}

func TestKilledOwnerIsReclaimed(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := child("hold", dir, "", "victim", 8)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var held Lease
	for {
		l, ok, err := s.Get("victim")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			held = l
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("holder exited before leasing: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if held.Owner.PID != cmd.Process.Pid || len(held.IDs) != 8 {
		t.Fatalf("holder's lease = %+v, want 8 GPUs owned by pid %d", held, cmd.Process.Pid)
	}
	inv := inventory(hostInventory())
	if _, err := s.Acquire(context.Background(), Request{Job: "next", Count: 8, Owner: Self(), Candidates: inv}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Acquire while the holder lives = %v, want ErrTimeout", err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("holder exit = %v, want killed", err)
	}
	var reclaimed []string
	l, err := s.Acquire(context.Background(), Request{
		Job: "next", Count: 8, Owner: Self(), Candidates: inv,
		Wait: 5 * time.Second, Poll: 10 * time.Millisecond,
		Reclaimed: func(l Lease) { reclaimed = append(reclaimed, l.Job) },
	})
	if err != nil {
		t.Fatalf("Acquire after SIGKILL of the holder: %v", err)
	}
	t.Logf("holder pid %d held %d GPUs; after SIGKILL, Acquire reclaimed %v and got %d GPUs", held.Owner.PID, len(held.IDs), reclaimed, len(l.IDs))
	if len(l.IDs) != 8 || len(reclaimed) != 1 || reclaimed[0] != "victim" {
		t.Errorf("got %d GPUs, reclaimed %v; want 8 GPUs from job victim", len(l.IDs), reclaimed)
	}
}
