package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// runID is made once per test process: every test of one `go test` run of
// a package shares it, and two runs on one engine never do.
var runID = sync.OnceValue(func() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails: it crashes the program instead
	return hex.EncodeToString(b)
})

// RunID returns this test process's random mark, twelve lowercase hex
// digits. Name whatever a test makes on the engine with it, so two runs on
// one engine never use the same name.
func RunID() string { return runID() }

// Labels returns LabelTest=RunID(), a new map each call: put it on every
// container, network, volume and image a test makes, so Main finds what a
// failed test left.
func Labels() map[string]string { return map[string]string{LabelTest: RunID()} }

// Owned reports whether labels mark something of this run: LabelTest is
// RunID(), or, for what production code makes and labels itself (a job's
// mlci.job, a dataset volume's mlci.digest), an mlci.* label's value holds
// RunID() because the test chose the job name or digest with it.
func Owned(labels map[string]string) bool {
	id := RunID()
	for k, v := range labels {
		if strings.HasPrefix(k, "mlci.") && strings.Contains(v, id) {
			return true
		}
	}
	return false
}

// Run is what this run has on the engine.
type Run struct {
	Containers []container.Summary
	Networks   []network.Summary
	Volumes    []*volume.Volume
	Images     []image.Summary
}

// Empty reports whether nothing was found.
func (r Run) Empty() bool {
	return len(r.Containers) == 0 && len(r.Networks) == 0 && len(r.Volumes) == 0 && len(r.Images) == 0
}

// String names every resource, one per line, as `docker rm` would take it.
func (r Run) String() string {
	var b strings.Builder
	for _, c := range r.Containers {
		fmt.Fprintf(&b, "container %s %s (%s)\n", c.ID[:12], strings.Join(c.Names, ","), c.State)
	}
	for _, n := range r.Networks {
		fmt.Fprintf(&b, "network %s\n", n.Name)
	}
	for _, v := range r.Volumes {
		fmt.Fprintf(&b, "volume %s\n", v.Name)
	}
	for _, i := range r.Images {
		fmt.Fprintf(&b, "image %s %s\n", strings.TrimPrefix(i.ID, "sha256:")[:12], strings.Join(i.RepoTags, ","))
	}
	return b.String()
}

// FindRun lists what this run has on the engine (see Owned). It lists
// everything and filters here: the engine's label filter matches whole
// values only.
func FindRun(ctx context.Context, api client.APIClient) (Run, error) {
	return find(ctx, api, filters.NewArgs(), Owned)
}

// find lists what the engine's filter f selects and keep accepts.
func find(ctx context.Context, api client.APIClient, f filters.Args, keep func(map[string]string) bool) (Run, error) {
	var r Run
	cs, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return r, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs {
		if keep(c.Labels) {
			r.Containers = append(r.Containers, c)
		}
	}
	ns, err := api.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return r, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns {
		if keep(n.Labels) {
			r.Networks = append(r.Networks, n)
		}
	}
	vs, err := api.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return r, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vs.Volumes {
		if keep(v.Labels) {
			r.Volumes = append(r.Volumes, v)
		}
	}
	is, err := api.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		return r, fmt.Errorf("list images: %w", err)
	}
	for _, i := range is {
		if keep(i.Labels) {
			r.Images = append(r.Images, i)
		}
	}
	return r, nil
}

// RemoveRun force-removes what FindRun found, by ID: containers first (they
// hold networks, volumes and images), and an image only after the images
// built on it. It returns the errors of what it could not remove.
func RemoveRun(ctx context.Context, api client.APIClient, r Run) error {
	var errs []error
	for _, c := range r.Containers {
		err := api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %v: %w", c.Names, err))
		}
	}
	for _, n := range r.Networks {
		if err := api.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	for _, v := range r.Volumes {
		if err := api.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
		}
	}
	// A parent refuses removal while a child exists, and the listing does
	// not say which is which: remove in rounds until a round gets nowhere.
	left := slices.Clone(r.Images)
	for len(left) > 0 {
		var next []image.Summary
		var failed []error
		for _, i := range left {
			_, err := api.ImageRemove(ctx, i.ID, image.RemoveOptions{Force: true, PruneChildren: true})
			switch {
			case err == nil || cerrdefs.IsNotFound(err):
			case cerrdefs.IsConflict(err):
				next = append(next, i)
				failed = append(failed, fmt.Errorf("remove image %s %v: %w", i.ID, i.RepoTags, err))
			default:
				errs = append(errs, fmt.Errorf("remove image %s %v: %w", i.ID, i.RepoTags, err))
			}
		}
		if len(next) == len(left) {
			errs = append(errs, failed...)
			break
		}
		left = next
	}
	return errors.Join(errs...)
}

// Main runs the package's tests, then removes what this run left on the
// engine and fails the run, listing them, if anything of it remains. Call
// it from the TestMain of every package whose tests reach the engine:
//
//	func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return code
	}
	if err := sweep(); err != nil {
		fmt.Fprintf(os.Stderr, "dockertest: run %s: %v\n", RunID(), err)
		return max(code, 1)
	}
	return code
}

// sweep removes what this run left and checks that nothing remains.
func sweep() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("connect to the Docker Engine to remove what the tests left: %w", err)
	}
	defer api.Close()
	r, err := FindRun(ctx, api)
	if err != nil {
		return err
	}
	if r.Empty() {
		return nil
	}
	// Not a failure by itself: a failed test leaves things, and says so.
	fmt.Fprintf(os.Stderr, "dockertest: run %s left these on the engine; removing them:\n%s", RunID(), r)
	rmErr := RemoveRun(ctx, api, r)
	// A removal the engine finishes in the background shows a moment
	// longer: look again until it is gone, for at most half a minute.
	wait, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	for {
		if r, err = FindRun(ctx, api); err != nil || r.Empty() {
			return err
		}
		select {
		case <-wait.Done():
			return fmt.Errorf("these remain on the engine (remove them with docker rm -f, docker network rm, docker volume rm, docker rmi):\n%s%w", r, errors.Join(rmErr, wait.Err()))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// WithLabels returns labels with Labels() added, for a spec whose labels a
// test wrapper stamps on the way to the engine. labels is not changed.
func WithLabels(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, Labels())
	return out
}

// LabelScope marks what one test made, with a value of its own, so the
// test removes exactly that when it ends (see Scope).
const LabelScope = "mlci.test.scope"

// Scope returns labels for what the test makes through a tool that does
// not clean up after itself (docker build, act): Labels() plus LabelScope
// with a value unique to the test. When the test ends, whatever carries
// that LabelScope is removed, containers first.
func Scope(t testing.TB, api client.APIClient) map[string]string {
	t.Helper()
	scope := RunID() + "-" + RandomHex(t, 6)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		f := filters.NewArgs(filters.Arg("label", LabelScope+"="+scope))
		r, err := find(ctx, api, f, func(map[string]string) bool { return true })
		if err == nil {
			err = RemoveRun(ctx, api, r)
		}
		if err != nil {
			t.Errorf("remove what the test made (label %s=%s): %v", LabelScope, scope, err)
		}
	})
	return map[string]string{LabelTest: RunID(), LabelScope: scope}
}
