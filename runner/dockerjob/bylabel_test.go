package dockerjob

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// labelEngine answers the four calls RemoveLabelled makes from a fixed set
// of containers and networks; any other call panics on the nil interface.
type labelEngine struct {
	client.APIClient
	containers map[string]map[string]string // id -> labels
	networks   map[string]map[string]string
	calls      []string
	failRemove map[string]error // id -> what removing it answers
}

func matches(f filters.Args, labels map[string]string) bool {
	return f.MatchKVList("label", labels)
}

func (e *labelEngine) ContainerList(ctx context.Context, o container.ListOptions) ([]container.Summary, error) {
	e.calls = append(e.calls, fmt.Sprintf("ContainerList all=%v %s", o.All, o.Filters.Get("label")))
	var out []container.Summary
	for _, id := range slices.Sorted(maps.Keys(e.containers)) {
		if o.All && matches(o.Filters, e.containers[id]) {
			out = append(out, container.Summary{ID: id})
		}
	}
	return out, nil
}

func (e *labelEngine) ContainerRemove(ctx context.Context, id string, o container.RemoveOptions) error {
	e.calls = append(e.calls, fmt.Sprintf("ContainerRemove %s force=%v", id, o.Force))
	if err := e.failRemove[id]; err != nil {
		return err
	}
	delete(e.containers, id)
	return nil
}

func (e *labelEngine) NetworkList(ctx context.Context, o network.ListOptions) ([]network.Summary, error) {
	e.calls = append(e.calls, "NetworkList "+strings.Join(o.Filters.Get("label"), ","))
	var out []network.Summary
	for _, id := range slices.Sorted(maps.Keys(e.networks)) {
		if matches(o.Filters, e.networks[id]) {
			out = append(out, network.Summary{ID: id, Name: "name-" + id})
		}
	}
	return out, nil
}

func (e *labelEngine) NetworkRemove(ctx context.Context, id string) error {
	e.calls = append(e.calls, "NetworkRemove "+id)
	if err := e.failRemove[id]; err != nil {
		return err
	}
	delete(e.networks, id)
	return nil
}

func TestRemoveLabelled(t *testing.T) {
	job := map[string]string{"mlci.job": "github:1"}
	other := map[string]string{"mlci.job": "github:2"}
	for _, c := range []struct {
		name       string
		key, value string
		failRemove map[string]error
		calls      []string
		left       []string // containers and networks, sorted
		err        []string // what the error says; none: no error
	}{
		{
			name: "containers, stopped ones too, then networks", key: "mlci.job", value: "github:1",
			calls: []string{
				"ContainerList all=true [mlci.job=github:1]",
				"ContainerRemove c1 force=true", "ContainerRemove c2 force=true",
				"NetworkList mlci.job=github:1", "NetworkRemove n1",
			},
			left: []string{"c3", "n2"},
		},
		{
			name: "already gone is no error", key: "mlci.job", value: "github:1",
			failRemove: map[string]error{"c1": cerrdefs.ErrNotFound, "n1": cerrdefs.ErrNotFound},
			left:       []string{"c1", "c3", "n1", "n2"},
		},
		{
			name: "goes on past failures and reports them all", key: "mlci.job", value: "github:1",
			failRemove: map[string]error{"c1": errors.New("c1 stuck"), "n1": errors.New("n1 busy")},
			left:       []string{"c1", "c3", "n1", "n2"},
			err:        []string{"c1 stuck", "n1 busy"},
		},
		{name: "no value", key: "mlci.job", value: "", err: []string{"give both the label and its value"}, left: []string{"c1", "c2", "c3", "n1", "n2"}},
		{name: "no key", key: "", value: "github:1", err: []string{"give both the label and its value"}, left: []string{"c1", "c2", "c3", "n1", "n2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &labelEngine{
				containers: map[string]map[string]string{"c1": job, "c2": job, "c3": other},
				networks:   map[string]map[string]string{"n1": job, "n2": other},
				failRemove: c.failRemove,
			}
			err := FromAPI(e).RemoveLabelled(context.Background(), c.key, c.value)
			if (err != nil) != (len(c.err) > 0) {
				t.Fatalf("err = %v, want one saying %q", err, c.err)
			}
			for _, w := range c.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, does not say %q", err, w)
				}
			}
			if c.calls != nil && !slices.Equal(e.calls, c.calls) {
				t.Errorf("calls %q, want %q", e.calls, c.calls)
			}
			left := append(slices.Collect(maps.Keys(e.containers)), slices.Collect(maps.Keys(e.networks))...)
			slices.Sort(left)
			if !slices.Equal(left, c.left) {
				t.Errorf("left %v, want %v", left, c.left)
			}
		})
	}
}
