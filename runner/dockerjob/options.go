package dockerjob

import (
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
)

// Options is the subset of `docker create` flags a job may set through the
// workflow's container.options (GitHub) or createOptions (hooks). Anything
// that could widen the GPU lease or reach the host is refused by
// ParseOptions rather than silently dropped, so users learn why.
type Options struct {
	Env        map[string]string
	Mounts     []Mount
	WorkingDir string
	User       string
	Entrypoint string
	Hostname   string
	ShmSize    int64 // bytes
	Memory     int64 // bytes
	NanoCPUs   int64
	Ulimits    []*container.Ulimit
	Labels     map[string]string
	// Tmpfs maps a container path to tmpfs mount options ("size=64m").
	Tmpfs map[string]string
	// Health is the container's health check (--health-cmd and friends,
	// common on GitHub service containers); nil keeps the image's.
	Health *container.HealthConfig
}

// supportedFlags is quoted in the "not supported" error so users see what
// they can use instead.
const supportedFlags = "--env/-e, --volume/-v, --mount, --workdir/-w, --user/-u, --shm-size, --memory/-m, --cpus, --ulimit, --label/-l, --hostname/-h, --tmpfs, --entrypoint, --health-cmd, --health-interval, --health-timeout, --health-retries, --health-start-period, --no-healthcheck"

// ParseOptions parses a container options string the way a shell would split
// it for `docker create`: words separated by blanks, single quotes literal,
// double quotes honouring \" \\ \$ and \`, no variable expansion. Flags may
// be written --flag value, --flag=value, -f value, -fvalue or -f=value.
func ParseOptions(s string) (Options, error) {
	var o Options
	if strings.IndexByte(s, 0) >= 0 {
		return o, errors.New("container options contain a NUL byte: remove it")
	}
	words, err := splitWords(s)
	if err != nil {
		return o, err
	}
	for i := 0; i < len(words); i++ {
		flag, value, hasValue, err := splitFlag(words[i])
		if err != nil {
			return Options{}, err
		}
		peek := value
		if !hasValue && i+1 < len(words) {
			peek = words[i+1]
		}
		if refusal := refused(flag, peek); refusal != "" {
			return Options{}, errors.New(refusal)
		}
		switch flag {
		case "--no-healthcheck":
			if hasValue {
				if b, err := strconv.ParseBool(value); err != nil {
					return Options{}, fmt.Errorf("%s=%s: want true or false", flag, value)
				} else if !b {
					continue
				}
			}
			o.health().Test = []string{"NONE"}
			continue
		case "--rm", "--init":
			// mlci-runner always removes job containers and always runs
			// an init, so these are accepted and have nothing to do.
			if hasValue {
				if _, err := strconv.ParseBool(value); err != nil {
					return Options{}, fmt.Errorf("%s=%s: want true or false", flag, value)
				}
			}
			continue
		case "--env", "--volume", "--mount", "--workdir", "--user", "--shm-size", "--memory",
			"--cpus", "--ulimit", "--label", "--hostname", "--tmpfs", "--entrypoint",
			"--health-cmd", "--health-interval", "--health-timeout", "--health-retries", "--health-start-period":
		default:
			return Options{}, fmt.Errorf("option %s is not supported by mlci-runner: use %s", flag, supportedFlags)
		}
		if !hasValue {
			if i+1 >= len(words) {
				return Options{}, fmt.Errorf("option %s needs a value: write %s VALUE", flag, flag)
			}
			i++
			value = words[i]
		}
		if err := o.set(flag, value); err != nil {
			return Options{}, err
		}
	}
	// Duplicate targets would only fail later at create time; say so now.
	if _, err := composeMounts(o.Mounts, o.Tmpfs); err != nil {
		return Options{}, fmt.Errorf("container options: %w", err)
	}
	return o, nil
}

// splitFlag maps a word to its long flag name and any attached value.
func splitFlag(w string) (flag, value string, hasValue bool, err error) {
	switch {
	case w == "--":
		return "", "", false, errors.New(`container options may not contain "--": they take flags only; the image and command come from the job`)
	case strings.HasPrefix(w, "--"):
		flag, value, hasValue = strings.Cut(w, "=")
		return flag, value, hasValue, nil
	case len(w) >= 2 && w[0] == '-':
		long := map[byte]string{'e': "--env", 'v': "--volume", 'w': "--workdir", 'u': "--user", 'm': "--memory", 'l': "--label", 'h': "--hostname"}[w[1]]
		if long == "" {
			return "", "", false, fmt.Errorf("option %s is not supported by mlci-runner: use %s", w, supportedFlags)
		}
		if rest := w[2:]; rest != "" {
			return long, strings.TrimPrefix(rest, "="), true, nil
		}
		return long, "", false, nil
	default:
		return "", "", false, fmt.Errorf("unexpected argument %q in container options: they take flags only; the image and command come from the job", w)
	}
}

// refused returns why flag must never reach the engine, or "" if it may.
// value is the flag's value or, for --flag value, the next word.
func refused(flag, value string) string {
	const lease = "GPUs come from the job's lease; ask with the gpu:N label / MLCI_GPUS / GPU_COUNT"
	switch flag {
	case "--privileged":
		return "--privileged is refused: it would expose every GPU on the host; " + lease
	case "--gpus":
		return "--gpus is refused: " + lease
	case "--device", "--device-cgroup-rule":
		return flag + " is refused: host devices would bypass the GPU lease; " + lease
	case "--runtime":
		return "--runtime is refused: the runtime decides which GPUs a container sees; " + lease
	case "--cap-add":
		return "--cap-add is refused: extra capabilities let a job reach host devices; jobs run with Docker's default capabilities"
	case "--security-opt":
		return "--security-opt is refused: mlci-runner sets no-new-privileges and keeps the engine's seccomp and AppArmor profiles"
	case "--volumes-from":
		return "--volumes-from is refused: it would mount another container's volumes; use --volume with a named volume"
	case "--env-file":
		return "--env-file is refused: it reads a file on the runner host; pass variables with --env NAME=value or the job's env:"
	case "--pid", "--ipc", "--uts", "--userns", "--network", "--net", "--cgroupns":
		ns := map[string]string{"--pid": "PID", "--ipc": "IPC", "--uts": "UTS", "--userns": "user",
			"--network": "network", "--net": "network", "--cgroupns": "cgroup"}[flag]
		switch {
		case value == "host" && flag == "--ipc":
			return "--ipc=host is refused: it shares the host's IPC namespace; for more shared memory use --shm-size (e.g. --shm-size=8g)"
		case value == "host":
			return fmt.Sprintf("%s=host is refused: it shares the host's %s namespace with the job", flag, ns)
		case strings.HasPrefix(value, "container:"):
			return fmt.Sprintf("%s=%s is refused: it joins another container's %s namespace", flag, value, ns)
		case flag == "--network" || flag == "--net":
			return flag + " is not supported by mlci-runner: it puts each job and its services on their own network"
		default:
			return fmt.Sprintf("%s is not supported by mlci-runner: jobs use the engine's default %s namespace", flag, ns)
		}
	}
	return ""
}

func (o *Options) set(flag, value string) error {
	switch flag {
	case "--env":
		k, v, ok := strings.Cut(value, "=")
		if !ok {
			return fmt.Errorf("--env %s has no value: write --env %s=value; mlci-runner does not pass on the runner host's environment", value, value)
		}
		if err := checkEnvKey(k); err != nil {
			return err
		}
		if o.Env == nil {
			o.Env = map[string]string{}
		}
		o.Env[k] = v
	case "--volume":
		m, err := parseVolume(value)
		if err != nil {
			return err
		}
		o.Mounts = append(o.Mounts, m)
	case "--mount":
		return o.parseMount(value)
	case "--workdir":
		if !path.IsAbs(value) {
			return fmt.Errorf("--workdir %q is not an absolute path: use a path like /work", value)
		}
		o.WorkingDir = value
	case "--user":
		if value == "" {
			return errors.New("--user is empty: give a user name or uid[:gid]")
		}
		o.User = value
	case "--entrypoint":
		o.Entrypoint = value
	case "--hostname":
		if value == "" || strings.ContainsAny(value, " \t\r\n") {
			return fmt.Errorf("--hostname %q is invalid: give a host name without spaces", value)
		}
		o.Hostname = value
	case "--shm-size", "--memory":
		n, err := parseBytes(value)
		if err != nil {
			return fmt.Errorf("%s %q: %w", flag, value, err)
		}
		if flag == "--memory" {
			o.Memory = n
		} else {
			o.ShmSize = n
		}
	case "--cpus":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 1e6 {
			return fmt.Errorf("--cpus %q is not a positive number of CPUs: write e.g. --cpus 4 or --cpus 1.5", value)
		}
		n := int64(math.Round(f * 1e9))
		if n <= 0 {
			return fmt.Errorf("--cpus %q is too small: give at least 0.000000001", value)
		}
		o.NanoCPUs = n
	case "--ulimit":
		u, err := parseUlimit(value)
		if err != nil {
			return err
		}
		o.Ulimits = append(o.Ulimits, u)
	case "--label":
		k, v, _ := strings.Cut(value, "=")
		if k == "" {
			return fmt.Errorf("--label %q has no name: write --label name=value", value)
		}
		if strings.HasPrefix(k, "mlci.") {
			return fmt.Errorf("--label %s is refused: labels under mlci. are set by mlci-runner to track its containers; pick another prefix", k)
		}
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[k] = v
	case "--health-cmd":
		// As docker run: the command runs through the image's shell.
		o.health().Test = []string{"CMD-SHELL", value}
	case "--health-interval", "--health-timeout", "--health-start-period":
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return fmt.Errorf("%s %q is not a duration: write e.g. %s 10s", flag, value, flag)
		}
		switch flag {
		case "--health-interval":
			o.health().Interval = d
		case "--health-timeout":
			o.health().Timeout = d
		default:
			o.health().StartPeriod = d
		}
	case "--health-retries":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return fmt.Errorf("--health-retries %q is not a whole number", value)
		}
		o.health().Retries = n
	case "--tmpfs":
		target, opts, _ := strings.Cut(value, ":")
		if err := checkTmpfs(target); err != nil {
			return err
		}
		if o.Tmpfs == nil {
			o.Tmpfs = map[string]string{}
		}
		o.Tmpfs[path.Clean(target)] = opts
	}
	return nil
}

func (o *Options) health() *container.HealthConfig {
	if o.Health == nil {
		o.Health = &container.HealthConfig{}
	}
	return o.Health
}

// parseVolume reads -v SRC:DST[:ro|rw] or -v DST (an anonymous volume).
func parseVolume(v string) (Mount, error) {
	parts := strings.Split(v, ":")
	var m Mount
	switch len(parts) {
	case 1:
		m = Mount{Target: parts[0], Volume: true}
	case 2, 3:
		m = Mount{Source: parts[0], Target: parts[1]}
		if len(parts) == 3 {
			for _, mode := range strings.Split(parts[2], ",") {
				switch mode {
				case "ro", "readonly":
					m.ReadOnly = true
				case "rw":
					m.ReadOnly = false
				default:
					return Mount{}, fmt.Errorf("--volume %s: mode %q is not supported by mlci-runner: use ro or rw", v, mode)
				}
			}
		}
		switch {
		case m.Source == "":
			return Mount{}, fmt.Errorf("--volume %s has an empty source: write /host/path:/container/path or name:/container/path", v)
		case path.IsAbs(m.Source):
			m.Source = path.Clean(m.Source)
		default:
			m.Volume = true
		}
	default:
		return Mount{}, fmt.Errorf("--volume %s has too many ':' parts: write SRC:DST[:ro]", v)
	}
	if err := CheckMount(m); err != nil {
		return Mount{}, fmt.Errorf("--volume %s: %w", v, err)
	}
	m.Target = path.Clean(m.Target)
	return m, nil
}

// parseMount reads --mount type=bind|volume|tmpfs,source=…,target=…[,readonly].
func (o *Options) parseMount(v string) error {
	typ := "volume" // docker's default
	var m Mount
	var tmpfsOpts []string
	for _, field := range strings.Split(v, ",") {
		key, val, hasVal := strings.Cut(field, "=")
		switch strings.ToLower(key) {
		case "type":
			typ = val
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			ro := true
			if hasVal {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return fmt.Errorf("--mount %s: readonly=%s: want true or false", v, val)
				}
				ro = b
			}
			m.ReadOnly = ro
		case "tmpfs-size":
			n, err := parseBytes(val)
			if err != nil {
				return fmt.Errorf("--mount %s: tmpfs-size %q: %w", v, val, err)
			}
			tmpfsOpts = append(tmpfsOpts, "size="+strconv.FormatInt(n, 10))
		case "tmpfs-mode":
			mode, err := strconv.ParseUint(val, 8, 32)
			if err != nil || mode > 0o7777 {
				return fmt.Errorf("--mount %s: tmpfs-mode %q is not an octal file mode like 1777", v, val)
			}
			tmpfsOpts = append(tmpfsOpts, "mode="+strconv.FormatUint(mode, 8))
		default:
			return fmt.Errorf("--mount %s: key %q is not supported by mlci-runner: use type, source, target, readonly, tmpfs-size, tmpfs-mode", v, key)
		}
	}
	switch typ {
	case "bind", "volume":
		if len(tmpfsOpts) > 0 {
			return fmt.Errorf("--mount %s: tmpfs-size and tmpfs-mode need type=tmpfs", v)
		}
		m.Volume = typ == "volume"
		if m.Volume && path.IsAbs(m.Source) {
			return fmt.Errorf("--mount %s: a volume source is a volume name, not a path: use type=bind for host paths", v)
		}
		if !m.Volume && m.Source != "" && path.IsAbs(m.Source) {
			m.Source = path.Clean(m.Source)
		}
		if err := CheckMount(m); err != nil {
			return fmt.Errorf("--mount %s: %w", v, err)
		}
		m.Target = path.Clean(m.Target)
		o.Mounts = append(o.Mounts, m)
	case "tmpfs":
		if m.Source != "" || m.ReadOnly {
			return fmt.Errorf("--mount %s: a tmpfs mount takes no source and cannot be read-only", v)
		}
		if err := checkTmpfs(m.Target); err != nil {
			return err
		}
		if o.Tmpfs == nil {
			o.Tmpfs = map[string]string{}
		}
		o.Tmpfs[path.Clean(m.Target)] = strings.Join(tmpfsOpts, ",")
	default:
		return fmt.Errorf("--mount %s: type %q is not supported by mlci-runner: use bind, volume or tmpfs", v, typ)
	}
	return nil
}

func checkTmpfs(target string) error {
	if err := CheckMount(Mount{Target: target, Volume: true}); err != nil {
		return fmt.Errorf("--tmpfs %s: %w", target, err)
	}
	return nil
}

// parseBytes reads sizes the way docker does (units.RAMInBytes): a number
// with an optional binary unit k, m, g, t or p, optionally followed by b or ib.
func parseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	t = strings.TrimSuffix(t, "i")
	mult := 1.0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgtp", t[n-1]); i >= 0 {
			mult = math.Pow(1024, float64(i+1))
			t = strings.TrimSpace(t[:n-1])
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || strings.ContainsAny(t, "eExXpP_+-") || math.IsNaN(f) {
		return 0, errors.New("not a size: write e.g. 512m or 8g")
	}
	v := f * mult
	if v < 1 || v >= math.MaxInt64/2 {
		return 0, errors.New("size out of range: write e.g. 512m or 8g")
	}
	return int64(v), nil
}

// parseUlimit reads name=soft[:hard] with docker's resource names.
func parseUlimit(v string) (*container.Ulimit, error) {
	name, limits, ok := strings.Cut(v, "=")
	if !ok {
		return nil, fmt.Errorf("--ulimit %s: write name=soft[:hard], e.g. nofile=65536:65536", v)
	}
	switch name {
	case "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
		"nproc", "rss", "rtprio", "rttime", "sigpending", "stack":
	default:
		return nil, fmt.Errorf("--ulimit %s: unknown limit %q: use e.g. nofile, memlock, stack, core", v, name)
	}
	softS, hardS, hasHard := strings.Cut(limits, ":")
	soft, err := strconv.ParseInt(softS, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("--ulimit %s: soft limit %q is not an integer", v, softS)
	}
	hard := soft
	if hasHard {
		if hard, err = strconv.ParseInt(hardS, 10, 64); err != nil {
			return nil, fmt.Errorf("--ulimit %s: hard limit %q is not an integer", v, hardS)
		}
	}
	if soft > hard {
		return nil, fmt.Errorf("--ulimit %s: soft limit %d is above hard limit %d", v, soft, hard)
	}
	return &container.Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}

// splitWords splits s like a POSIX shell would, without expansion.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("container options have an unterminated ' quote: close it")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, errors.New(`container options have an unterminated " quote: close it`)
			}
		case '\\':
			inWord = true
			if i+1 >= len(s) {
				return nil, errors.New("container options end with a lone backslash: remove it or quote it")
			}
			i++
			cur.WriteByte(s[i])
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
