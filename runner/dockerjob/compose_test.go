package dockerjob

import (
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/google/go-cmp/cmp"
)

func TestCompose(t *testing.T) {
	yes := true
	data := t.TempDir()
	base := func(env []string, labels map[string]string) (*container.Config, *container.HostConfig) {
		return &container.Config{
				Image:      "img",
				Env:        env,
				Labels:     labels,
				StopSignal: "SIGTERM",
			}, &container.HostConfig{
				SecurityOpt: []string{"no-new-privileges"},
				Init:        &yes,
				Mounts:      []mount.Mount{},
			}
	}
	tests := []struct {
		name     string
		spec     Spec
		wantCfg  func(*container.Config)
		wantHost func(*container.HostConfig)
		wantEnv  []string
		wantNet  *network.NetworkingConfig
	}{
		{
			name:    "no GPUs gets void so image env cannot expose all",
			spec:    Spec{Image: "img"},
			wantEnv: []string{"NVIDIA_VISIBLE_DEVICES=void"},
		},
		{
			name:    "GPUs by DeviceIDs, never Count",
			spec:    Spec{Image: "img", GPUs: []string{"GPU-aaaa", "MIG-bbbb"}},
			wantEnv: []string{"MLCI_GPUS=GPU-aaaa,MIG-bbbb", "NVIDIA_VISIBLE_DEVICES=GPU-aaaa,MIG-bbbb"},
			wantHost: func(h *container.HostConfig) {
				h.Resources.DeviceRequests = []container.DeviceRequest{{
					DeviceIDs: []string{"GPU-aaaa", "MIG-bbbb"}, Capabilities: [][]string{{"gpu"}},
				}}
			},
		},
		{
			name: "env sorted, spec env wins over options env",
			spec: Spec{Image: "img",
				Env:     map[string]string{"ZED": "1", "A": "spec"},
				Options: Options{Env: map[string]string{"A": "opt", "M": "2"}},
			},
			wantEnv: []string{"A=spec", "M=2", "NVIDIA_VISIBLE_DEVICES=void", "ZED=1"},
		},
		{
			name: "labels merged, runner label forced",
			spec: Spec{Image: "img",
				Labels:  map[string]string{"job": "7", LabelRunner: "0"},
				Options: Options{Labels: map[string]string{"team": "ml", "job": "opt"}},
			},
			wantEnv: []string{"NVIDIA_VISIBLE_DEVICES=void"},
			wantCfg: func(c *container.Config) {
				c.Labels = map[string]string{"job": "7", "team": "ml", LabelRunner: "1"}
			},
		},
		{
			name: "options fill what the spec leaves empty",
			spec: Spec{Image: "img", Cmd: []string{"run"},
				Options: Options{
					WorkingDir: "/w", User: "1000", Entrypoint: "/bin/sh", Hostname: "box",
					ShmSize: 1 << 30, Memory: 2 << 30, NanoCPUs: 1500000000,
					Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}},
					Tmpfs:   map[string]string{"/scratch": "size=64m"},
					Mounts:  []Mount{{Source: "cache", Target: "/cache", Volume: true}},
				},
			},
			wantEnv: []string{"NVIDIA_VISIBLE_DEVICES=void"},
			wantCfg: func(c *container.Config) {
				c.Cmd = []string{"run"}
				c.WorkingDir, c.User, c.Hostname = "/w", "1000", "box"
				c.Entrypoint = []string{"/bin/sh"}
			},
			wantHost: func(h *container.HostConfig) {
				h.ShmSize = 1 << 30
				h.Resources.Memory = 2 << 30
				h.Resources.NanoCPUs = 1500000000
				h.Resources.Ulimits = []*container.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}}
				h.Tmpfs = map[string]string{"/scratch": "size=64m"}
				h.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: "cache", Target: "/cache"}}
			},
		},
		{
			name: "spec wins over options, mounts concatenated",
			spec: Spec{Image: "img", WorkingDir: "/job", User: "root", Entrypoint: []string{"tail", "-f"},
				Mounts:    []Mount{{Source: "/host/work", Target: "/work/"}},
				Options:   Options{WorkingDir: "/w", User: "1000", Entrypoint: "/bin/sh", Mounts: []Mount{{Source: data, Target: "/data", ReadOnly: true}}},
				HostRoots: []HostRoot{{Path: data}},
			},
			wantEnv: []string{"NVIDIA_VISIBLE_DEVICES=void"},
			wantCfg: func(c *container.Config) {
				c.WorkingDir, c.User = "/job", "root"
				c.Entrypoint = []string{"tail", "-f"}
			},
			wantHost: func(h *container.HostConfig) {
				h.Mounts = []mount.Mount{
					{Type: mount.TypeBind, Source: "/host/work", Target: "/work"},
					{Type: mount.TypeBind, Source: data, Target: "/data", ReadOnly: true},
				}
			},
		},
		{
			name:    "network",
			spec:    Spec{Image: "img", Network: "mlci-job-1"},
			wantEnv: []string{"NVIDIA_VISIBLE_DEVICES=void"},
			wantHost: func(h *container.HostConfig) {
				h.NetworkMode = "mlci-job-1"
			},
			wantNet: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"mlci-job-1": {}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Compose(tt.spec)
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			cfg, host, netCfg := req.Config, req.Host, req.Network
			wantCfg, wantHost := base(tt.wantEnv, map[string]string{LabelRunner: "1"})
			if tt.wantCfg != nil {
				tt.wantCfg(wantCfg)
			}
			if tt.wantHost != nil {
				tt.wantHost(wantHost)
			}
			if d := cmp.Diff(wantCfg, cfg); d != "" {
				t.Errorf("Config (-want +got):\n%s", d)
			}
			if d := cmp.Diff(wantHost, host); d != "" {
				t.Errorf("HostConfig (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantNet, netCfg); d != "" {
				t.Errorf("NetworkingConfig (-want +got):\n%s", d)
			}
			if host.Privileged {
				t.Error("Privileged is true")
			}
			for _, e := range cfg.Env {
				if strings.HasPrefix(e, "CUDA_VISIBLE_DEVICES=") {
					t.Errorf("Compose set %s: GPUs are renumbered inside the container", e)
				}
			}
		})
	}
}

func TestComposeDoesNotAliasSpec(t *testing.T) {
	spec := Spec{Image: "img", GPUs: []string{"GPU-a"}}
	req, err := Compose(spec)
	if err != nil {
		t.Fatal(err)
	}
	host := req.Host
	host.Resources.DeviceRequests[0].DeviceIDs[0] = "GPU-changed"
	if spec.GPUs[0] != "GPU-a" {
		t.Errorf("changing the request changed the spec's GPUs to %v", spec.GPUs)
	}
}

func TestComposeRefuses(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"no image", Spec{}, "no image"},
		{"GPU index", Spec{Image: "i", GPUs: []string{"0"}}, "not a GPU-"},
		{"GPU list smuggled", Spec{Image: "i", GPUs: []string{"GPU-a,GPU-b"}}, "comma"},
		{"GPU twice", Spec{Image: "i", GPUs: []string{"GPU-a", "GPU-a"}}, "twice"},
		{"spec env selects GPUs", Spec{Image: "i", Env: map[string]string{"NVIDIA_VISIBLE_DEVICES": "all"}}, "outside the job's lease"},
		{"option env selects GPUs", Spec{Image: "i", Options: Options{Env: map[string]string{"NVIDIA_DRIVER_CAPABILITIES": "all"}}}, "container options"},
		{"docker socket in spec mounts", Spec{Image: "i", Mounts: []Mount{{Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}}}, "Docker socket"},
		{"host dev", Spec{Image: "i", Mounts: []Mount{{Source: "/dev", Target: "/hostdev"}}}, "/dev"},
		{"duplicate target", Spec{Image: "i", Mounts: []Mount{{Source: "/a", Target: "/x"}}, Options: Options{Mounts: []Mount{{Source: "vol", Target: "/x/", Volume: true}}}}, "two mounts"},
		{"relative bind", Spec{Image: "i", Mounts: []Mount{{Source: "data", Target: "/x"}}}, "absolute host path"},
		{"relative target", Spec{Image: "i", Mounts: []Mount{{Source: "/data", Target: "x"}}}, "absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compose(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compose error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckEnv(t *testing.T) {
	// Device-selecting refusals must also say how to get GPUs properly.
	const hint = "gpu:N"
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; none means accepted
	}{
		{"nil", nil, nil},
		{"ordinary", map[string]string{"PATH": "/bin", "CUDA_VISIBLE_DEVICES": "0", "NVIDIA_REQUIRE_CUDA": "cuda>=12"}, nil},
		{"visible devices", map[string]string{"NVIDIA_VISIBLE_DEVICES": "all"}, []string{"NVIDIA_VISIBLE_DEVICES is refused", "outside the job's lease", hint}},
		{"visible devices lower case", map[string]string{"nvidia_visible_devices": "0"}, []string{"refused", hint}},
		{"visible device typo", map[string]string{"NVIDIA_VISIBLE_DEVICE": "0"}, []string{"refused", hint}},
		{"driver capabilities", map[string]string{"NVIDIA_DRIVER_CAPABILITIES": "all"}, []string{"refused", hint}},
		{"mig config", map[string]string{"NVIDIA_MIG_CONFIG_DEVICES": "all"}, []string{"refused", hint}},
		{"empty name", map[string]string{"": "x"}, []string{"invalid"}},
		{"name with equals", map[string]string{"A=B": "x"}, []string{"invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckEnv(tt.env)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("CheckEnv: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckEnv accepted %v", tt.env)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckEnv error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCheckMount(t *testing.T) {
	tests := []struct {
		name    string
		m       Mount
		wantErr string
	}{
		{"bind", Mount{Source: "/home/ci/work", Target: "/work"}, ""},
		{"named volume", Mount{Source: "mlci-data-sha256-abc", Target: "/data", Volume: true, ReadOnly: true}, ""},
		{"anonymous volume", Mount{Target: "/cache", Volume: true}, ""},
		{"docker socket", Mount{Source: "/var/run/docker.sock", Target: "/s"}, "Docker socket"},
		{"run docker socket", Mount{Source: "/run/docker.sock", Target: "/s"}, "Docker socket"},
		{"rootless socket", Mount{Source: "/home/u/.docker/run/docker.sock", Target: "/s"}, "Docker socket"},
		{"socket via dotdot", Mount{Source: "/tmp/../var/run/docker.sock", Target: "/s"}, "Docker socket"},
		{"socket directory", Mount{Source: "/var/run", Target: "/s"}, "contains the Docker socket"},
		{"host root", Mount{Source: "/", Target: "/host"}, "contains the Docker socket"},
		{"dev", Mount{Source: "/dev/nvidia0", Target: "/dev/nvidia0"}, "bypass the GPU lease"},
		{"proc", Mount{Source: "/proc", Target: "/hostproc"}, "host kernel"},
		{"sys", Mount{Source: "/sys/fs/cgroup", Target: "/cg"}, "host kernel"},
		{"docker data", Mount{Source: "/var/lib/docker/volumes", Target: "/v"}, "other jobs"},
		{"target proc", Mount{Source: "/data", Target: "/proc/x"}, "/proc"},
		{"target root", Mount{Source: "/data", Target: "/"}, "refused"},
		{"bad volume name", Mount{Source: "a/b", Target: "/x", Volume: true}, "volume name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMount(tt.m)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("CheckMount: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckMount error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestEnvListSorted(t *testing.T) {
	got := envList(map[string]string{"b": "2", "a": "1", "C": "3"})
	if !slices.IsSorted(got) || len(got) != 3 {
		t.Errorf("envList = %v, want 3 sorted entries", got)
	}
}
