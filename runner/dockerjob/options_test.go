package dockerjob

import (
	"errors"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/google/go-cmp/cmp"
)

func TestParseOptionsAccepted(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Options
	}{
		{"empty", "", Options{}},
		{"blanks only", " \t\n", Options{}},
		{"env forms", `-e A=1 --env B=2 --env=C=3 -eD=4 -e=E=5 -e EMPTY=`,
			Options{Env: map[string]string{"A": "1", "B": "2", "C": "3", "D": "4", "E": "5", "EMPTY": ""}}},
		{"quoted env", `-e "MSG=hello world" -e 'Q=it''s' -e X=a\ b -e "D=\"q\" \$HOME"`,
			Options{Env: map[string]string{"MSG": "hello world", "Q": "its", "X": "a b", "D": `"q" $HOME`}}},
		{"volumes", `-v /data:/data:ro -v cache:/cache --volume=/tmp/../srv/x:/x/ -v /anon`,
			Options{Mounts: []Mount{
				{Source: "/data", Target: "/data", ReadOnly: true},
				{Source: "cache", Target: "/cache", Volume: true},
				{Source: "/srv/x", Target: "/x"},
				{Target: "/anon", Volume: true},
			}}},
		{"mount flag", `--mount type=bind,source=/d,target=/d,readonly --mount type=volume,src=v1,dst=/v --mount type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777`,
			Options{
				Mounts: []Mount{{Source: "/d", Target: "/d", ReadOnly: true}, {Source: "v1", Target: "/v", Volume: true}},
				Tmpfs:  map[string]string{"/t": "size=1048576,mode=1777"},
			}},
		{"workdir user hostname entrypoint", `-w /src -u 1000:1000 -h box --entrypoint /bin/bash`,
			Options{WorkingDir: "/src", User: "1000:1000", Hostname: "box", Entrypoint: "/bin/bash"}},
		{"long forms with equals", `--workdir=/src --user=ci --hostname=box --entrypoint=`,
			Options{WorkingDir: "/src", User: "ci", Hostname: "box"}},
		{"sizes and cpus", `--shm-size=8g --memory 512m --cpus 1.5`,
			Options{ShmSize: 8 << 30, Memory: 512 << 20, NanoCPUs: 1_500_000_000}},
		{"size units", `--shm-size 64MiB -m 2GB`, Options{ShmSize: 64 << 20, Memory: 2 << 30}},
		{"ulimits", `--ulimit nofile=1024:2048 --ulimit memlock=-1`,
			Options{Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}, {Name: "memlock", Soft: -1, Hard: -1}}}},
		{"labels", `-l team=ml --label=empty --label k=v=w`,
			Options{Labels: map[string]string{"team": "ml", "empty": "", "k": "v=w"}}},
		{"tmpfs", `--tmpfs /scratch:size=64m,exec --tmpfs /run2`,
			Options{Tmpfs: map[string]string{"/scratch": "size=64m,exec", "/run2": ""}}},
		{"ignored flags", `--rm --init --rm=false`, Options{}},
		{"last value wins", `-w /a -w /b`, Options{WorkingDir: "/b"}},
		{"namespace not host", `-e A=host`, Options{Env: map[string]string{"A": "host"}}},
		// The form GitHub's docs give for a postgres service.
		{"health check", `--health-cmd pg_isready --health-interval 10s --health-timeout 5s --health-retries 5 --health-start-period=2s`,
			Options{Health: &container.HealthConfig{Test: []string{"CMD-SHELL", "pg_isready"}, Interval: 10 * time.Second, Timeout: 5 * time.Second, Retries: 5, StartPeriod: 2 * time.Second}}},
		{"health command with arguments", `--health-cmd "redis-cli ping"`, Options{Health: &container.HealthConfig{Test: []string{"CMD-SHELL", "redis-cli ping"}}}},
		{"no health check", `--no-healthcheck`, Options{Health: &container.HealthConfig{Test: []string{"NONE"}}}},
		{"no health check false", `--no-healthcheck=false`, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(tt.in)
			if err != nil {
				t.Fatalf("ParseOptions(%q): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseOptions(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestParseOptionsRefused(t *testing.T) {
	// want lists substrings: the reason and what to use instead.
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"privileged", "--privileged", []string{"--privileged is refused", "expose every GPU on the host"}},
		{"privileged among others", "-e A=1 --privileged=true", []string{"expose every GPU"}},
		{"gpus", "--gpus all", []string{"--gpus is refused", "gpu:N", "MLCI_GPUS", "GPU_COUNT"}},
		{"gpus equals", `--gpus="device=0,1"`, []string{"--gpus is refused"}},
		{"device", "--device /dev/nvidia0", []string{"--device is refused", "lease"}},
		{"device cgroup rule", "--device-cgroup-rule='c 195:* rmw'", []string{"is refused"}},
		{"cap-add", "--cap-add SYS_ADMIN", []string{"--cap-add is refused"}},
		{"security-opt", "--security-opt seccomp=unconfined", []string{"--security-opt is refused"}},
		{"runtime", "--runtime nvidia", []string{"--runtime is refused", "gpu:N"}},
		{"volumes-from", "--volumes-from other", []string{"--volumes-from is refused", "--volume"}},
		{"env-file", "--env-file .env", []string{"--env-file is refused", "--env NAME=value"}},
		{"ipc host", "--ipc=host", []string{"--ipc=host is refused", "--shm-size"}},
		{"ipc host separate word", "--ipc host", []string{"--ipc=host is refused", "--shm-size"}},
		{"pid host", "--pid host", []string{"--pid=host is refused", "PID namespace"}},
		{"network host", "--network=host", []string{"--network=host is refused"}},
		{"net host", "--net host", []string{"--net=host is refused"}},
		{"uts host", "--uts=host", []string{"--uts=host is refused"}},
		{"userns host", "--userns=host", []string{"--userns=host is refused"}},
		{"join other container", "--pid container:abc", []string{"another container"}},
		{"network other", "--network mynet", []string{"not supported by mlci-runner", "own network"}},
		{"env NVIDIA_VISIBLE_DEVICES", "-e NVIDIA_VISIBLE_DEVICES=all", []string{"NVIDIA_VISIBLE_DEVICES is refused", "lease"}},
		{"env NVIDIA_DRIVER_CAPABILITIES", "--env=NVIDIA_DRIVER_CAPABILITIES=all", []string{"is refused"}},
		{"env NVIDIA_VISIBLE_DEVICE prefix", "-eNVIDIA_VISIBLE_DEVICES_X=1", []string{"is refused"}},
		{"env from host", "-e HOME", []string{"has no value", "HOME=value"}},
		{"docker socket", "-v /var/run/docker.sock:/var/run/docker.sock", []string{"Docker socket"}},
		{"run docker socket", "-v /run/docker.sock:/d.sock", []string{"Docker socket"}},
		{"any docker.sock", "-v /srv/x/docker.sock:/s", []string{"Docker socket"}},
		{"socket via mount flag", "--mount type=bind,src=/var/run/docker.sock,dst=/s", []string{"Docker socket"}},
		{"dev", "-v /dev:/dev", []string{"/dev is refused"}},
		{"dev device", "-v /dev/nvidia0:/dev/nvidia0", []string{"bypass the GPU lease"}},
		{"proc", "-v /proc:/host/proc:ro", []string{"host kernel"}},
		{"sys", "--volume=/sys:/sys", []string{"host kernel"}},
		{"volume bad mode", "-v /data:/data:z", []string{`mode "z"`, "ro or rw"}},
		{"volume too many parts", "-v a:/b:ro:x", []string{"too many"}},
		{"relative bind", "-v ./x:/x", []string{"volume name"}},
		{"mount unknown key", "--mount type=bind,src=/a,dst=/a,bind-propagation=shared", []string{"not supported"}},
		{"mount volume with path", "--mount type=volume,src=/a,dst=/a", []string{"type=bind"}},
		{"unknown long flag", "--add-host x:1.2.3.4", []string{"--add-host is not supported by mlci-runner", "--env/-e"}},
		{"unknown short flag", "-it", []string{"-it is not supported by mlci-runner"}},
		{"positional", "ubuntu", []string{"unexpected argument"}},
		{"double dash", "-- x", []string{`"--"`}},
		{"missing value", "-e", []string{"needs a value"}},
		{"unterminated single", "-e 'A=1", []string{"unterminated '"}},
		{"unterminated double", `-e "A=1`, []string{`unterminated "`}},
		{"lone backslash", `-e A=1\`, []string{"backslash"}},
		{"nul", "-e A=\x00", []string{"NUL"}},
		{"relative workdir", "-w src", []string{"absolute"}},
		{"bad size", "--shm-size lots", []string{"not a size"}},
		{"zero size", "--shm-size 0", []string{"out of range"}},
		{"bad cpus", "--cpus -1", []string{"positive number"}},
		{"bad ulimit", "--ulimit nofile=2:1", []string{"above hard"}},
		{"unknown ulimit", "--ulimit gpus=1", []string{"unknown limit"}},
		{"bad health interval", "--health-interval soon", []string{"--health-interval", "not a duration"}},
		{"bad health retries", "--health-retries -2", []string{"--health-retries", "whole number"}},
		{"mlci label", "-l mlci.runner=0", []string{"labels under mlci."}},
		{"duplicate mount target", "-v /a:/x -v /b:/x", []string{"two mounts"}},
		{"tmpfs on proc", "--tmpfs /proc", []string{"/proc"}},
		{"rm junk", "--rm=maybe", []string{"true or false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(tt.in)
			if err == nil {
				t.Fatalf("ParseOptions(%q) accepted: %+v", tt.in, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseOptions(%q) error %q does not contain %q", tt.in, err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines; keep it to one", err)
			}
		})
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "a b  c", []string{"a", "b", "c"}},
		{"empty quotes make a word", `a '' ""`, []string{"a", "", ""}},
		{"adjacent quotes join", `a'b'"c"d`, []string{"abcd"}},
		{"single quotes literal", `'a\b $x'`, []string{`a\b $x`}},
		{"double quote escapes", `"a\"b\\c\$d\e"`, []string{`a"b\c$d\e`}},
		{"backslash space", `a\ b`, []string{"a b"}},
		{"newlines and tabs", "a\n\tb\r\n", []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitWords(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("splitWords(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{
		"", "-e A=1", "--privileged", "--gpus all", "-v /var/run/docker.sock:/s",
		`-e "A=b c" -v /data:/data:ro --shm-size=8g`, "--mount type=tmpfs,target=/t,tmpfs-size=1m",
		"-v /x/../dev/sda:/d", "--ipc host", "-eNVIDIA_VISIBLE_DEVICES=all", "--ulimit nofile=1:2",
		"-l a=b --tmpfs /t:size=1m --cpus 0.5 -m 1g -w /w -u 0 -h h --entrypoint x --rm --init",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOptions(s)
		if err != nil {
			return
		}
		// Independent of the parser's own checks: nothing refused may
		// come out of an accepted string.
		for k := range o.Env {
			up := strings.ToUpper(k)
			if strings.HasPrefix(up, "NVIDIA_VISIBLE_DEVICE") || up == "NVIDIA_DRIVER_CAPABILITIES" {
				t.Errorf("accepted env %s from %q", k, s)
			}
		}
		for _, m := range o.Mounts {
			src := path.Clean(m.Source)
			if m.Volume {
				if strings.Contains(m.Source, "/") {
					t.Errorf("accepted volume name %q from %q", m.Source, s)
				}
				continue
			}
			for _, bad := range []string{"/dev", "/proc", "/sys", "/run", "/var/run"} {
				if src == bad || strings.HasPrefix(src, bad+"/") {
					t.Errorf("accepted bind of %s from %q", m.Source, s)
				}
			}
			if strings.HasSuffix(src, "docker.sock") || src == "/" {
				t.Errorf("accepted bind of %s from %q", m.Source, s)
			}
		}
		for k := range o.Labels {
			if strings.HasPrefix(k, "mlci.") {
				t.Errorf("accepted label %s from %q", k, s)
			}
		}
		req, err := Compose(Spec{Image: "img", Options: o})
		var refused *MountRefusedError
		if errors.As(err, &refused) {
			// No host folder is allowed here: every bind mount is refused,
			// and so are mlci-runner's own volumes.
			return
		}
		if err != nil {
			t.Fatalf("accepted %q but Compose refuses it: %v", s, err)
		}
		cfg, host := req.Config, req.Host
		if host.Privileged || len(host.Resources.DeviceRequests) > 0 || len(host.Resources.Devices) > 0 ||
			host.IpcMode != "" || host.PidMode != "" || host.NetworkMode != "" || len(host.CapAdd) > 0 || host.Runtime != "" {
			t.Errorf("accepted %q widened the host config: %+v", s, host)
		}
		if !strings.Contains(strings.Join(cfg.Env, "\n"), "NVIDIA_VISIBLE_DEVICES=void") {
			t.Errorf("accepted %q lost NVIDIA_VISIBLE_DEVICES=void: %v", s, cfg.Env)
		}
	})
}
