package lease

import (
	"context"
	"fmt"
	"testing"
)

const gib = 1 << 30

// gpu is a healthy 80 GiB H100 with the given index and island.
func gpu(i int, island string) Candidate {
	return Candidate{
		ID:          fmt.Sprintf("GPU-%d", i),
		Index:       i,
		Model:       "NVIDIA H100 80GB HBM3",
		MemoryTotal: 80 * gib,
		Island:      island,
		Healthy:     true,
	}
}

// mig is a healthy MIG device of GPU-<parent>.
func mig(parent int, name string) Candidate {
	c := gpu(parent, "")
	c.ID = fmt.Sprintf("MIG-%d%s", parent, name)
	c.Parent = fmt.Sprintf("GPU-%d", parent)
	c.MemoryTotal = 10 * gib
	return c
}

func gpus(n int) []Candidate {
	cs := make([]Candidate, n)
	for i := range cs {
		cs[i] = gpu(i, "")
	}
	return cs
}

func inventory(cs []Candidate) func(context.Context) ([]Candidate, error) {
	return func(context.Context) ([]Candidate, error) { return cs, nil }
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seed records leases held by this (live) process, bypassing choice.
func seed(t *testing.T, s *Store, leased map[string][]string) {
	t.Helper()
	var ls []Lease
	for job, ids := range leased {
		ls = append(ls, Lease{Job: job, IDs: ids, Owner: Self()})
	}
	if err := s.writeLeases(ls); err != nil {
		t.Fatal(err)
	}
}

func quarantine(t *testing.T, s *Store, q map[string]string) {
	t.Helper()
	for id, why := range q {
		if err := s.Quarantine(id, why); err != nil {
			t.Fatal(err)
		}
	}
}
