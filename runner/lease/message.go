package lease

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// census sorts the host's devices by why a request cannot have them, for
// messages that tell a user what to wait for or what to fix.
type census struct {
	total       int
	quarantined []string // "ID: reason"
	unhealthy   []string
	small       int
	otherModel  int
	leased      int
	jobs        []string
	busy        []string
	free        int
}

func (v *view) census(r *Request) census {
	var c census
	for _, d := range v.cands {
		c.total++
		switch {
		case hasKey(v.quarantined, d.ID):
			c.quarantined = append(c.quarantined, d.ID+": "+v.quarantined[d.ID])
		case !d.Healthy:
			c.unhealthy = append(c.unhealthy, d.ID+": "+cmp.Or(d.Reason, "unhealthy"))
		case d.MemoryTotal < r.MinMemory:
			c.small++
		case !r.matches(d):
			c.otherModel++
		case v.leasedBy[d.ID] != "":
			c.leased++
			c.jobs = append(c.jobs, v.leasedBy[d.ID])
		case d.Busy:
			c.busy = append(c.busy, d.ID+": "+cmp.Or(d.Reason, "runs processes no lease explains"))
		default:
			c.relative(v, d)
		}
	}
	slices.Sort(c.jobs)
	c.jobs = slices.Compact(c.jobs)
	return c
}

// relative files a device that is fine itself under the state of the MIG
// device or GPU it shares hardware with.
func (c *census) relative(v *view, d Candidate) {
	for _, rel := range v.relatives(d) {
		switch {
		case v.broken(rel):
			c.unhealthy = append(c.unhealthy, d.ID+": shares hardware with unusable "+rel)
		case v.leasedBy[rel] != "":
			c.leased++
			c.jobs = append(c.jobs, v.leasedBy[rel])
		case v.taken(rel):
			c.busy = append(c.busy, d.ID+": shares hardware with busy "+rel)
		default:
			continue
		}
		return
	}
	c.free++
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// want says what r asks for: "2 GPUs with >= 80 GiB matching \"H100\"".
func (r *Request) want(adj string) string {
	s := fmt.Sprintf("%d %sGPU", r.Count, adj)
	if r.Count != 1 {
		s += "s"
	}
	if r.MinMemory > 0 {
		s += " with >= " + bytesString(r.MinMemory)
	}
	if r.Model != "" {
		s += fmt.Sprintf(" matching %q", r.Model)
	}
	return s
}

func (r *Request) unsatisfiable(c census, have int) error {
	parts := []string{plural(c.total, "GPU")}
	if n := len(c.unhealthy); n > 0 {
		parts = append(parts, fmt.Sprintf("%d unhealthy: %s", n, short(c.unhealthy)))
	}
	if n := len(c.quarantined); n > 0 {
		parts = append(parts, fmt.Sprintf("%d quarantined: %s", n, short(c.quarantined)))
	}
	if c.small > 0 {
		parts = append(parts, fmt.Sprintf("%d with < %s", c.small, bytesString(r.MinMemory)))
	}
	if c.otherModel > 0 {
		parts = append(parts, fmt.Sprintf("%d not matching %q", c.otherModel, r.Model))
	}
	return &leaseError{kind: ErrUnsatisfiable, msg: fmt.Sprintf("job %s asks for %s, this host has %d such (%s)",
		r.Job, r.want(""), have, strings.Join(parts, "; "))}
}

// busyLine explains why the free devices do not suffice right now.
func (r *Request) busyLine(c census) string {
	parts := []string{fmt.Sprintf("%d on this host", c.total)}
	if c.leased > 0 {
		parts = append(parts, fmt.Sprintf("%d leased (%s %s)", c.leased, noun(len(c.jobs), "job"), short(c.jobs)))
	}
	if n := len(c.busy); n > 0 {
		parts = append(parts, fmt.Sprintf("%d busy with processes no lease explains (%s)", n, short(c.busy)))
	}
	if n := len(c.quarantined); n > 0 {
		parts = append(parts, fmt.Sprintf("%d quarantined (%s)", n, short(c.quarantined)))
	}
	if n := len(c.unhealthy); n > 0 {
		parts = append(parts, fmt.Sprintf("%d unhealthy (%s)", n, short(c.unhealthy)))
	}
	if c.small > 0 {
		parts = append(parts, fmt.Sprintf("%d with < %s", c.small, bytesString(r.MinMemory)))
	}
	if c.otherModel > 0 {
		parts = append(parts, fmt.Sprintf("%d not matching %q", c.otherModel, r.Model))
	}
	if c.free > 0 {
		parts = append(parts, fmt.Sprintf("%d free", c.free))
	}
	return strings.Join(parts, ", ")
}

func (r *Request) timeout(c census) error {
	when := "after " + r.Wait.String()
	if r.Wait == 0 {
		when = "and the job does not wait (wait is 0)"
	}
	return &leaseError{kind: ErrTimeout, msg: fmt.Sprintf("no %s %s: %s", r.want("free "), when, r.busyLine(c))}
}

func (r *Request) waiting(c census) string {
	return fmt.Sprintf("job %s waits up to %v for %s: %s", r.Job, r.Wait, r.want("free "), r.busyLine(c))
}

func plural(n int, s string) string {
	return fmt.Sprintf("%d %s", n, noun(n, s))
}

func noun(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// short lists up to four items, so one line stays readable on a big host.
func short(items []string) string {
	const keep = 4
	if len(items) <= keep {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:keep], ", "), len(items)-keep)
}

func bytesString(b uint64) string {
	const mib, gib = 1 << 20, 1 << 30
	switch {
	case b >= gib && b%gib == 0:
		return fmt.Sprintf("%d GiB", b/gib)
	case b >= gib:
		return fmt.Sprintf("%.1f GiB", float64(b)/gib)
	case b >= mib && b%mib == 0:
		return fmt.Sprintf("%d MiB", b/mib)
	default:
		return fmt.Sprintf("%d bytes", b)
	}
}
