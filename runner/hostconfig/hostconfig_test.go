package hostconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "empty is defaults", yaml: "", check: func(t *testing.T, c Config) {
			if c.StateDir != "/var/lib/mlci-runner" || time.Duration(c.GPUWait) != 30*time.Minute || c.AllowForkJobs {
				t.Errorf("defaults wrong: %+v", c)
			}
		}},
		{name: "all fields", yaml: "state_dir: /srv/mlci/\ngpu_wait: 90s\nstop_grace: 3s\ntelemetry_interval: 500ms\nclean_memory_mib: 64\ndefault_image: alpine:3\nallow_fork_repos: [acme/public]\ndatasets:\n  imagenet: /data/imagenet\n",
			check: func(t *testing.T, c Config) {
				if c.StateDir != "/srv/mlci" || time.Duration(c.GPUWait) != 90*time.Second || time.Duration(c.TelemetryInterval) != 500*time.Millisecond {
					t.Errorf("got %+v", c)
				}
				if c.Datasets["imagenet"] != "/data/imagenet" || c.CleanMemoryMiB != 64 || c.DefaultImage != "alpine:3" {
					t.Errorf("got %+v", c)
				}
				if !c.ForkAllowed("ACME/public") || c.ForkAllowed("acme/other") {
					t.Errorf("fork allow list not applied")
				}
			}},
		{name: "typo refused", yaml: "allow_forks: true\n", wantErr: "field allow_forks not found"},
		{name: "bad duration", yaml: "gpu_wait: soon\n", wantErr: `"soon" is not a duration`},
		{name: "relative state dir", yaml: "state_dir: state\n", wantErr: "state_dir must be an absolute path"},
		{name: "relative dataset", yaml: "datasets:\n  d: data/\n", wantErr: "datasets.d"},
		{name: "bad dataset name", yaml: "datasets:\n  'a/b': /x\n", wantErr: `"a/b" is not a valid name`},
		{name: "zero interval", yaml: "telemetry_interval: 0s\n", wantErr: "telemetry_interval must be positive"},
		{name: "not yaml", yaml: "state_dir: [\n", wantErr: "config.yaml:"},
		{name: "dataset remote as a URL", yaml: "dataset_remote: s3://team-data/mlci\ndataset_max_bytes: 500GiB\ndataset_max_files: 1000\n",
			check: func(t *testing.T, c Config) {
				if c.DatasetRemote == nil || c.DatasetRemote.Spec() != "s3://team-data/mlci" || c.DatasetMaxBytes != 500<<30 || c.DatasetMaxFiles != 1000 {
					t.Errorf("got %+v %+v", c, c.DatasetRemote)
				}
			}},
		{name: "dataset remote with S3 settings", yaml: "dataset_remote:\n  url: s3://team-data/mlci\n  endpoint: http://127.0.0.1:9000\n  region: eu-1\n  path_style: true\n",
			check: func(t *testing.T, c Config) {
				want := "s3://team-data/mlci?endpoint=http%3A%2F%2F127.0.0.1%3A9000&path_style=true&region=eu-1"
				if got := c.DatasetRemote.Spec(); got != want {
					t.Errorf("Spec = %q, want %q", got, want)
				}
			}},
		{name: "dataset remote default limits", yaml: "dataset_remote: local:/srv/data-remote\n",
			check: func(t *testing.T, c Config) {
				if c.DatasetMaxBytes != 100<<30 || c.DatasetMaxFiles != 10_000_000 {
					t.Errorf("limits = %d bytes, %d files", c.DatasetMaxBytes, c.DatasetMaxFiles)
				}
			}},
		{name: "relative dataset remote", yaml: "dataset_remote: data-remote\n", wantErr: "dataset_remote: \"data-remote\" must be an absolute host path"},
		{name: "dataset remote unknown scheme", yaml: "dataset_remote: ftp://host/x\n", wantErr: "dataset_remote:"},
		{name: "dataset remote with keys in the URL", yaml: "dataset_remote: s3://AKIA:secret@bucket/x\n", wantErr: "dataset_remote:"},
		{name: "endpoint on a local remote", yaml: "dataset_remote:\n  url: local:/srv/r\n  endpoint: http://x\n", wantErr: "for s3:// remotes only"},
		{name: "dataset remote without url", yaml: "dataset_remote:\n  region: x\n", wantErr: "dataset_remote: no url"},
		{name: "bad size", yaml: "dataset_max_bytes: lots\n", wantErr: `"lots" is not a size`},
		{name: "zero files", yaml: "dataset_max_files: 0\n", wantErr: "must be positive"},
		{name: "dataset cache default follows dataset_max_bytes", yaml: "dataset_max_bytes: 50GiB\n",
			check: func(t *testing.T, c Config) {
				if c.DatasetCacheMaxBytes != 200<<30 {
					t.Errorf("dataset_cache_max_bytes = %s, want 200GiB", c.DatasetCacheMaxBytes)
				}
			}},
		{name: "dataset cache default with default limits", yaml: "",
			check: func(t *testing.T, c Config) {
				if c.DatasetCacheMaxBytes != 400<<30 || c.DatasetCacheMaxBytes != Default().DatasetCacheMaxBytes {
					t.Errorf("dataset_cache_max_bytes = %s, want 400GiB as Default has it", c.DatasetCacheMaxBytes)
				}
			}},
		{name: "dataset cache default does not overflow", yaml: "dataset_max_bytes: 4000000TiB\n",
			check: func(t *testing.T, c Config) {
				if c.DatasetCacheMaxBytes < c.DatasetMaxBytes {
					t.Errorf("dataset_cache_max_bytes = %d, below dataset_max_bytes %d", c.DatasetCacheMaxBytes, c.DatasetMaxBytes)
				}
			}},
		{name: "dataset cache set", yaml: "dataset_max_bytes: 10GiB\ndataset_cache_max_bytes: 1TiB\n",
			check: func(t *testing.T, c Config) {
				if c.DatasetCacheMaxBytes != 1<<40 {
					t.Errorf("dataset_cache_max_bytes = %s, want 1TiB", c.DatasetCacheMaxBytes)
				}
			}},
		{name: "dataset cache equal to one dataset", yaml: "dataset_max_bytes: 10GiB\ndataset_cache_max_bytes: 10GiB\n",
			check: func(t *testing.T, c Config) {
				if c.DatasetCacheMaxBytes != 10<<30 {
					t.Errorf("dataset_cache_max_bytes = %s, want 10GiB", c.DatasetCacheMaxBytes)
				}
			}},
		{name: "dataset cache below dataset_max_bytes", yaml: "dataset_max_bytes: 100GiB\ndataset_cache_max_bytes: 50GiB\n",
			wantErr: "dataset_cache_max_bytes (50GiB) is smaller than dataset_max_bytes (100GiB)"},
		{name: "dataset cache below the default dataset_max_bytes", yaml: "dataset_cache_max_bytes: 1GiB\n",
			wantErr: "dataset_cache_max_bytes (1GiB) is smaller than dataset_max_bytes (100GiB)"},
		{name: "dataset cache zero", yaml: "dataset_cache_max_bytes: 0\n",
			wantErr: "dataset_cache_max_bytes (0B) is smaller than dataset_max_bytes"},
		{name: "dataset cache not a size", yaml: "dataset_cache_max_bytes: big\n", wantErr: `"big" is not a size`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("config.yaml", []byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		bad  bool
	}{
		{in: "1048576", want: 1 << 20},
		{in: "64MiB", want: 64 << 20},
		{in: "2 TB", want: 2e12},
		{in: "10B", want: 10},
		{in: "-1GiB", bad: true},
		{in: "1.5GiB", bad: true},
		{in: "99999999999TiB", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseByteSize(tc.in)
			if (err != nil) != tc.bad || got != tc.want {
				t.Errorf("ParseByteSize(%q) = %d, %v", tc.in, got, err)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		name string
		in   ByteSize
		want string
	}{
		{name: "zero", in: 0, want: "0B"},
		{name: "bytes", in: 1000, want: "1000B"},
		{name: "KiB", in: 2048, want: "2KiB"},
		{name: "GiB", in: 400 << 30, want: "400GiB"},
		{name: "TiB", in: 3 << 40, want: "3TiB"},
		{name: "not a whole unit", in: 1<<30 + 1, want: "1073741825B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.String()
			if got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if back, err := ParseByteSize(got); err != nil || back != tc.in {
				t.Errorf("ParseByteSize(%q) = %d, %v; want %d", got, back, err, tc.in)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.yaml")
	if c, err := Load(missing, false); err != nil || c.StateDir != Default().StateDir {
		t.Errorf("unnamed missing file: %v %+v", err, c)
	}
	if _, err := Load(missing, true); err == nil {
		t.Error("named missing file: no error")
	}
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte("allow_fork_jobs: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(p, true); err != nil || !c.ForkAllowed("any/repo") {
		t.Errorf("Load = %+v, %v", c, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "state_dir: /srv\n", "gpu_wait: 10m\ndatasets:\n  a: /x\n", "allow_fork_repos: [a/b]\n", "state_dir: [\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse("config.yaml", []byte(s))
		if err != nil {
			return
		}
		if !filepath.IsAbs(c.StateDir) || c.TelemetryInterval <= 0 {
			t.Fatalf("accepted %q as %+v", s, c)
		}
		for n, p := range c.Datasets {
			if !ValidName(n) || !filepath.IsAbs(p) {
				t.Fatalf("accepted dataset %q -> %q", n, p)
			}
		}
	})
}

func TestAllowMounts(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []AllowedMount
		wantErr string
	}{
		{"none by default", "", []AllowedMount{}, ""},
		{"read-write and read-only", "allow_mounts: [/srv/scratch, '/data/shared:ro', '/opt/x/../models:rw']",
			[]AllowedMount{{Path: "/srv/scratch"}, {Path: "/data/shared", ReadOnly: true}, {Path: "/opt/models"}}, ""},
		{"relative", "allow_mounts: [data]", nil, "absolute"},
		{"bad mode", "allow_mounts: ['/data:z']", nil, "PATH:ro"},
		{"host root", "allow_mounts: [/]", nil, "narrower"},
		{"holds the socket", "allow_mounts: [/var]", nil, "narrower"},
		{"holds the engine's data", "allow_mounts: [/var/lib]", nil, "narrower"},
		{"inside the engine's data", "allow_mounts: [/var/lib/docker/volumes]", nil, "narrower"},
		{"the state dir", "state_dir: /srv/mlci\nallow_mounts: [/srv]", nil, "/srv/mlci"},
		{"host settings", "allow_mounts: [/etc/ssl]", nil, "narrower"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("config.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, c.Mounts()); d != "" {
				t.Errorf("Mounts (-want +got):\n%s", d)
			}
		})
	}
}

// TestAllowMountsFollowsLinks: an allow_mounts folder that is a link to the
// state dir is the state dir.
func TestAllowMountsFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "data")
	if err := os.Symlink(state, link); err != nil {
		t.Fatal(err)
	}
	_, err := Parse("config.yaml", []byte("state_dir: "+state+"\nallow_mounts: ['"+link+"']\n"))
	if err == nil || !strings.Contains(err.Error(), "narrower") {
		t.Errorf("Parse = %v, want the linked state dir refused", err)
	}
}

// The example shipped in the release must stay a valid config.
func TestDeployExampleParses(t *testing.T) {
	if _, err := Load(filepath.Join("..", "..", "deploy", "mlci-runner.yaml"), true); err != nil {
		t.Fatal(err)
	}
}
