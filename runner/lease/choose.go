package lease

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// view is one try's picture of the host: the inventory joined with the
// leases and the quarantine.
type view struct {
	cands       []Candidate // ordered by Index, then ID
	listed      map[string]*Candidate
	children    map[string][]string // GPU UUID -> its listed MIG devices
	leasedBy    map[string]string   // device ID -> job
	quarantined map[string]string
}

func newView(cands []Candidate, leases []Lease, quarantined map[string]string) (*view, error) {
	v := &view{
		cands:       slices.Clone(cands),
		listed:      map[string]*Candidate{},
		children:    map[string][]string{},
		leasedBy:    map[string]string{},
		quarantined: quarantined,
	}
	slices.SortFunc(v.cands, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), strings.Compare(a.ID, b.ID))
	})
	for i := range v.cands {
		c := &v.cands[i]
		if c.ID == "" {
			return nil, fmt.Errorf("GPU inventory lists a device with an empty ID (index %d)", c.Index)
		}
		if _, dup := v.listed[c.ID]; dup {
			return nil, fmt.Errorf("GPU inventory lists %s twice", c.ID)
		}
		v.listed[c.ID] = c
		if c.Parent != "" {
			v.children[c.Parent] = append(v.children[c.Parent], c.ID)
		}
	}
	for _, l := range leases {
		for _, id := range l.IDs {
			v.leasedBy[id] = l.Job
		}
	}
	return v, nil
}

// relatives are the devices that share hardware with c: a MIG device and
// its GPU exclude each other. A parent counts even when not listed, since a
// lease or quarantine may still name it.
func (v *view) relatives(c Candidate) []string {
	if c.Parent != "" {
		return []string{c.Parent}
	}
	return v.children[c.ID]
}

// broken reports a device that no job may use until someone acts.
func (v *view) broken(id string) bool {
	if _, q := v.quarantined[id]; q {
		return true
	}
	c, ok := v.listed[id]
	return ok && !c.Healthy
}

// taken reports a device some process is using now.
func (v *view) taken(id string) bool {
	if v.leasedBy[id] != "" {
		return true
	}
	c, ok := v.listed[id]
	return ok && c.Busy
}

func (v *view) usable(c Candidate) bool {
	return !v.broken(c.ID) && !slices.ContainsFunc(v.relatives(c), v.broken)
}

func (v *view) free(c Candidate) bool {
	return v.usable(c) && !v.taken(c.ID) && !slices.ContainsFunc(v.relatives(c), v.taken)
}

func (r *Request) matches(c Candidate) bool {
	return c.MemoryTotal >= r.MinMemory &&
		(r.Model == "" || strings.Contains(strings.ToLower(c.Model), strings.ToLower(r.Model)))
}

func (v *view) filter(keep func(Candidate) bool) []Candidate {
	var out []Candidate
	for _, c := range v.cands {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// physical groups cs by the GPU they live on, in order of first appearance.
func physical(cs []Candidate) [][]Candidate {
	var order []string
	groups := map[string][]Candidate{}
	for _, c := range cs {
		k := cmp.Or(c.Parent, c.ID)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	out := make([][]Candidate, len(order))
	for i, k := range order {
		out[i] = groups[k]
	}
	return out
}

// capacity is how many devices of cs one job can hold at once: per GPU,
// either the GPU itself or its MIG devices, never both.
func capacity(cs []Candidate) int {
	n := 0
	for _, g := range physical(cs) {
		n += max(1, len(migOnly(g)))
	}
	return n
}

func migOnly(g []Candidate) []Candidate {
	return slices.DeleteFunc(slices.Clone(g), func(c Candidate) bool { return c.Parent == "" })
}

// take picks n devices from cs in order, or nil if they cannot hold n. On a
// GPU offered both whole and as MIG devices it takes MIG devices, so the
// rest of the GPU stays available to other small jobs.
func take(cs []Candidate, n int) []string {
	var ids []string
	for _, g := range physical(cs) {
		if len(ids) == n {
			break
		}
		if mig := migOnly(g); len(mig) > 0 {
			for _, c := range mig[:min(len(mig), n-len(ids))] {
				ids = append(ids, c.ID)
			}
			continue
		}
		ids = append(ids, g[0].ID)
	}
	if len(ids) < n {
		return nil
	}
	return ids
}

// choose picks n of the free devices, or nil. Devices of one topology
// island talk faster to each other, so a set within one island wins; among
// islands that fit, the one with the fewest free devices wins (best fit),
// which keeps large islands whole for large jobs. Without such an island it
// falls back to the lowest indexes. free must be ordered by Index.
func choose(free []Candidate, n int) []string {
	islands := map[string][]Candidate{}
	for _, c := range free {
		if c.Island != "" {
			islands[c.Island] = append(islands[c.Island], c)
		}
	}
	best, bestCap := "", 0
	for _, name := range slices.Sorted(maps.Keys(islands)) {
		c := capacity(islands[name])
		if c < n {
			continue
		}
		// Ties go to the island holding the lowest index, then to the
		// first name, so the choice is deterministic.
		if best == "" || c < bestCap || (c == bestCap && islands[name][0].Index < islands[best][0].Index) {
			best, bestCap = name, c
		}
	}
	if best != "" {
		return take(islands[best], n)
	}
	return take(free, n)
}
