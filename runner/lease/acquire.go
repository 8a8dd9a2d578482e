package lease

import (
	"context"
	"fmt"
	"time"
)

// Acquire leases req.Count devices to req.Job, waiting up to req.Wait for
// them to be free. If the job already holds a lease whose owner lives, that
// lease is returned unchanged, so a re-run prepare step gets the same GPUs.
//
// Each try reclaims leases whose owner died or which req.Ended reports
// over. A request the host could not meet even when idle fails at once
// with ErrUnsatisfiable; one that finds too few free devices until req.Wait
// is spent fails with ErrTimeout. The lock is held only within a try, never
// while waiting.
func (s *Store) Acquire(ctx context.Context, req Request) (Lease, error) {
	if err := req.validate(); err != nil {
		return Lease{}, err
	}
	poll := req.Poll
	if poll == 0 {
		poll = time.Second
	}
	deadline := time.Now().Add(req.Wait)
	waiting := false
	for {
		l, c, err := s.try(ctx, &req)
		if err != nil || c == nil {
			return l, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return Lease{}, req.timeout(*c)
		}
		if !waiting {
			waiting = true
			if req.Progress != nil {
				req.Progress(req.waiting(*c))
			}
		}
		t := time.NewTimer(min(poll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return Lease{}, fmt.Errorf("job %s stopped waiting for %s: %w", req.Job, req.want("free "), ctx.Err())
		case <-t.C:
		}
	}
}

func (r *Request) validate() error {
	bad := func(why string) error {
		return fmt.Errorf("%w: job %q: %s", ErrBadRequest, r.Job, why)
	}
	switch {
	case r.Job == "":
		return bad("the job key is empty")
	case r.Count < 1:
		return bad(fmt.Sprintf("asks for %d GPUs, want at least 1", r.Count))
	case r.Owner.PID <= 0:
		return bad("no owner process; use Self() or ProcessOwner")
	case r.Wait < 0 || r.Poll < 0:
		return bad("wait and poll must not be negative")
	case r.Candidates == nil:
		return bad("no Candidates function to list the host's GPUs")
	}
	return nil
}

// try makes one attempt. It returns the lease, or a census of why there is
// none yet, or an error that ends Acquire.
func (s *Store) try(ctx context.Context, r *Request) (Lease, *census, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, nil, fmt.Errorf("acquire GPUs for job %s: %w", r.Job, err)
	}
	// The slow parts (inventory, Ended) run before the lock, on a snapshot;
	// the decision under the lock re-reads the state.
	snap, err := s.readLeases()
	if err != nil {
		return Lease{}, nil, err
	}
	if i := find(snap, r.Job); i >= 0 && snap[i].Owner.Alive() {
		return snap[i], nil, nil
	}
	over, err := endedLeases(ctx, snap, r.Ended, r.Job)
	if err != nil {
		return Lease{}, nil, err
	}
	cands, err := r.Candidates(ctx)
	if err != nil {
		return Lease{}, nil, fmt.Errorf("list GPUs for job %s: %w", r.Job, err)
	}
	l, c, dropped, err := s.decide(r, cands, over)
	if r.Reclaimed != nil {
		for _, d := range dropped {
			r.Reclaimed(d)
		}
	}
	return l, c, err
}

// decide is the locked part of a try.
func (s *Store) decide(r *Request, cands []Candidate, over map[leaseKey]bool) (l Lease, c *census, dropped []Lease, err error) {
	unlock, err := s.lock()
	if err != nil {
		return Lease{}, nil, nil, err
	}
	defer unlock()
	ls, err := s.readLeases()
	if err != nil {
		return Lease{}, nil, nil, err
	}
	if i := find(ls, r.Job); i >= 0 && ls[i].Owner.Alive() {
		return ls[i], nil, nil, nil
	}
	q, err := s.readQuarantine()
	if err != nil {
		return Lease{}, nil, nil, err
	}
	ls, dropped = dropGone(ls, over)
	// Saves the reclaim even when this try fails: the dead jobs are gone
	// either way, and later tries and List should not see them.
	saveDropped := func() error {
		if len(dropped) == 0 {
			return nil
		}
		return s.writeLeases(ls)
	}
	v, err := newView(cands, ls, q)
	if err != nil {
		return Lease{}, nil, nil, fmt.Errorf("acquire GPUs for job %s: %w", r.Job, err)
	}
	if have := capacity(v.filter(func(d Candidate) bool { return v.usable(d) && r.matches(d) })); have < r.Count {
		if err := saveDropped(); err != nil {
			return Lease{}, nil, nil, err
		}
		return Lease{}, nil, dropped, r.unsatisfiable(v.census(r), have)
	}
	ids := choose(v.filter(func(d Candidate) bool { return v.free(d) && r.matches(d) }), r.Count)
	if ids == nil {
		if err := saveDropped(); err != nil {
			return Lease{}, nil, nil, err
		}
		cs := v.census(r)
		return Lease{}, &cs, dropped, nil
	}
	l = Lease{
		Job:       r.Job,
		IDs:       ids,
		Owner:     r.Owner,
		Container: r.Container,
		// Round(0) drops the monotonic reading, so the returned lease
		// equals the one read back from disk.
		Acquired: time.Now().UTC().Round(0),
	}
	if err := s.writeLeases(append(ls, l)); err != nil {
		return Lease{}, nil, nil, err
	}
	return l, nil, dropped, nil
}
