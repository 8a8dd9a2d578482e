// Package dockertest builds throwaway images on a real Docker Engine and
// finds what a test left there. It is for tests only: import it from
// _test.go files, never from code that ships.
//
// Every helper takes the test, fails it on an engine error and removes what
// it made with t.Cleanup. Nothing is pulled: images are built FROM scratch,
// so the tests run without a registry. Names hold RunID() and resources
// carry Labels(), so two test runs on one engine never touch each other's,
// and Main, run from TestMain, removes what a run left and fails it if
// anything remains.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// LabelTest marks everything a test makes on the engine, with RunID() as
// its value: Main removes what carries this run's, and an operator finds
// what a killed run left with docker ps -a --filter label=mlci.test.
// Containers of an image built here inherit it, and so do images built
// FROM one.
const LabelTest = "mlci.test"

// timeout bounds each engine call sequence, so a hung engine fails the
// test instead of hanging it.
const timeout = 2 * time.Minute

// RandomHex returns 2n random hex digits, for names unique to one test run.
func RandomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// BusyboxImage builds FROM scratch an image of the host's static busybox in
// /bin, with a link to it for each applet (the links stay links: ADD
// unpacks them from a tar), and PATH=/bin. It returns the image's tag; the
// image is removed when the test ends.
//
// A missing or dynamically linked busybox fails the test, never skips it:
// CI installs busybox-static, and a skipped integration test would pass
// while testing nothing.
func BusyboxImage(t testing.TB, api client.APIClient, applets ...string) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox is not on PATH: install busybox-static (.ci/run installs it); these tests build their FROM-scratch image from it: %v", err)
	}
	checkStatic(t, bb)
	bin, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	root := []entry{{name: "bin/", mode: 0o755, dir: true}, {name: "bin/busybox", mode: 0o755, body: bin}}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		root = append(root, entry{name: "bin/" + a, mode: 0o777, link: "busybox"})
	}
	return BuildImage(t, api, "FROM scratch\nADD rootfs.tar /\nENV PATH=/bin\n", map[string][]byte{
		"rootfs.tar": writeTar(t, root),
	})
}

// checkStatic fails when the binary needs a dynamic loader: a FROM-scratch
// image has none.
func checkStatic(t testing.TB, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("read %s: %v: install busybox-static (.ci/run installs it)", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked and cannot run in a FROM-scratch image: install busybox-static (.ci/run installs it)", path)
		}
	}
}

// BuildImage builds dockerfile with files (path in the build context ->
// contents, written mode 0755) as its build context, labelled with
// Labels(). It returns a tag unique to the image, which is removed with
// the image when the test ends.
func BuildImage(t testing.TB, api client.APIClient, dockerfile string, files map[string][]byte) string {
	t.Helper()
	entries := []entry{{name: "Dockerfile", mode: 0o644, body: []byte(dockerfile)}}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if n == "Dockerfile" {
			t.Fatal("dockertest.BuildImage: pass the Dockerfile as its own argument, not in files")
		}
		entries = append(entries, entry{name: n, mode: 0o755, body: files[n]})
	}
	buildCtx := writeTar(t, entries)

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The repository name is what a GitLab service of the image is
	// reached by; the tag is unique, so removing it touches no other run.
	tag := "mlci-dockertest:" + RunID() + "-" + RandomHex(t, 6)
	resp, err := api.ImageBuild(ctx, bytes.NewReader(buildCtx), build.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, Labels: Labels(),
	})
	if err != nil {
		t.Fatalf("build test image: %v", err)
	}
	defer resp.Body.Close()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := api.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove test image %s: %v", tag, err)
		}
	})
	// The build reports failure inside its JSON stream, not as an error.
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("read image build output: %v", err)
		}
		if msg.Error != "" {
			t.Fatalf("build test image: %s", msg.Error)
		}
		if msg.ErrorDetail.Message != "" {
			t.Fatalf("build test image: %s", msg.ErrorDetail.Message)
		}
	}
	return tag
}

// Left is what carries a label on the engine.
type Left struct {
	Containers []container.Summary
	Networks   []network.Summary
	Volumes    []*volume.Volume
}

// Empty reports whether nothing was found.
func (l Left) Empty() bool {
	return len(l.Containers) == 0 && len(l.Networks) == 0 && len(l.Volumes) == 0
}

// Leftovers lists the containers (running or not), networks and volumes
// labelled label=value. A listing the engine refuses is reported with
// t.Errorf and counts as empty, so it may be called from t.Cleanup.
func Leftovers(t testing.TB, api client.APIClient, label, value string) Left {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", label+"="+value))
	var l Left
	var err error
	if l.Containers, err = api.ContainerList(ctx, container.ListOptions{All: true, Filters: f}); err != nil {
		t.Errorf("list containers labelled %s=%s: %v", label, value, err)
	}
	if l.Networks, err = api.NetworkList(ctx, network.ListOptions{Filters: f}); err != nil {
		t.Errorf("list networks labelled %s=%s: %v", label, value, err)
	}
	vols, err := api.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		t.Errorf("list volumes labelled %s=%s: %v", label, value, err)
	}
	l.Volumes = vols.Volumes
	return l
}

// RemoveLeftovers force-removes whatever is labelled label=value:
// containers first (with their anonymous volumes), as they hold networks
// and volumes. Failures are reported with t.Errorf, so it may be called from
// t.Cleanup.
func RemoveLeftovers(t testing.TB, api client.APIClient, label, value string) {
	t.Helper()
	l := Leftovers(t, api, label, value)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range l.Containers {
		err := api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove leftover container %v: %v", c.Names, err)
		}
	}
	for _, n := range l.Networks {
		if err := api.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove leftover network %s: %v", n.Name, err)
		}
	}
	for _, v := range l.Volumes {
		if err := api.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove leftover volume %s: %v", v.Name, err)
		}
	}
}

// entry is one member of a tar archive: a file, a directory or a symlink.
type entry struct {
	name, link string
	mode       int64
	body       []byte
	dir        bool
}

func writeTar(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		switch {
		case e.dir:
			h.Typeflag, h.Size = tar.TypeDir, 0
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
