// Package ghhook implements the GitHub Actions runner's container hooks
// (ACTIONS_RUNNER_CONTAINER_HOOKS): the runner hands each container
// operation of a job to mlci-runner, which runs it with the job's own GPU
// lease instead of the docker CLI.
package ghhook

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlci/mlci/runner/jobrun"
)

// The commands the runner sends.
const (
	PrepareJob       = "prepare_job"
	CleanupJob       = "cleanup_job"
	RunScriptStep    = "run_script_step"
	RunContainerStep = "run_container_step"
)

// Input is the one JSON document the runner writes to the hook's stdin.
// Field names follow the runner's HookInput (camelCase).
type Input struct {
	Command      string          `json:"command"`
	ResponseFile string          `json:"responseFile"`
	Args         json.RawMessage `json:"args"`
	State        json.RawMessage `json:"state"`
}

// Mount is a volume the runner asks for. A source without a leading '/'
// names a Docker volume.
type Mount struct {
	SourceVolumePath string `json:"sourceVolumePath"`
	TargetVolumePath string `json:"targetVolumePath"`
	ReadOnly         bool   `json:"readOnly"`
}

// Registry holds credentials for pulling a private image.
type Registry struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	ServerURL string `json:"serverUrl"`
}

// ContainerInfo describes the job container, a service or a container
// step; fields unused by one kind are empty. ContextName is in upstream's
// example input, but the runner never sends it (its HookContainer has no
// such field, actions/runner#2783).
type ContainerInfo struct {
	Image                string            `json:"image"`
	ContextName          string            `json:"contextName"`
	EntryPoint           string            `json:"entryPoint"`
	EntryPointArgs       []string          `json:"entryPointArgs"`
	CreateOptions        string            `json:"createOptions"`
	EnvironmentVariables map[string]string `json:"environmentVariables"`
	UserMountVolumes     []Mount           `json:"userMountVolumes"`
	SystemMountVolumes   []Mount           `json:"systemMountVolumes"`
	Registry             *Registry         `json:"registry"`
	PortMappings         []string          `json:"portMappings"`
	WorkingDirectory     string            `json:"workingDirectory"`
	PrependPath          []string          `json:"prependPath"`
	Dockerfile           string            `json:"dockerfile"`
}

// PrepareJobArgs are the args of prepare_job.
type PrepareJobArgs struct {
	Container *ContainerInfo  `json:"container"`
	Services  []ContainerInfo `json:"services"`
}

// ScriptStepArgs are the args of run_script_step.
type ScriptStepArgs struct {
	EntryPoint           string            `json:"entryPoint"`
	EntryPointArgs       []string          `json:"entryPointArgs"`
	EnvironmentVariables map[string]string `json:"environmentVariables"`
	PrependPath          []string          `json:"prependPath"`
	WorkingDirectory     string            `json:"workingDirectory"`
}

// State is what mlci-runner keeps between the hook calls of one job. The
// runner stores it and passes it back, so the lease travels with the job.
type State struct {
	Job       string            `json:"job"`
	Container string            `json:"container,omitempty"`
	Network   string            `json:"network,omitempty"`
	Services  ServiceIDs        `json:"services,omitempty"`
	GPUs      []string          `json:"gpus,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Mounts    []Mount           `json:"mounts,omitempty"`
}

// ServiceIDs are the job's service containers in the order prepare_job
// listed the services, which is how the runner tells them apart: it sends
// no name for a service (its HookContainer has no contextName).
type ServiceIDs []string

// UnmarshalJSON reads a list of ids and also the map of contextName to id
// that mlci-runner kept before. A job prepared by that version may be
// cleaned up by this one (the binary is replaced while the job runs); a
// state that failed to decode would leave the job's containers and GPU
// lease behind. The map's order is lost; only cleanup reads these ids,
// and it removes them all.
func (s *ServiceIDs) UnmarshalJSON(data []byte) error {
	var list []string
	if err := json.Unmarshal(data, &list); err == nil {
		*s = list
		return nil
	}
	var byName map[string]string
	if err := json.Unmarshal(data, &byName); err != nil {
		return fmt.Errorf("services: want a list of container ids: %w", err)
	}
	ids := make(ServiceIDs, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		ids = append(ids, byName[name])
	}
	*s = ids
	return nil
}

// ContainerContext is one entry of the prepare_job response's context.
type ContainerContext struct {
	ID      string            `json:"id"`
	Network string            `json:"network"`
	Ports   map[string]string `json:"ports"`
}

// PrepareResponse is written to responseFile after prepare_job. isAlpine is
// required whenever there is a job container; services are matched to the
// input's services by index.
type PrepareResponse struct {
	State   State `json:"state"`
	Context struct {
		Container *ContainerContext  `json:"container,omitempty"`
		Services  []ContainerContext `json:"services"`
	} `json:"context"`
	IsAlpine bool `json:"isAlpine"`
}

// contextPorts keys a container's published ports the way workflows index
// job.services.<name>.ports, which the runner fills with the response's
// keys as they are: by the bare container port ("80", not "80/tcp").
// Upstream's docker hook (transformDockerPortsToContextPorts) reads the
// lines of `docker port`, "80/tcp -> 0.0.0.0:8080", which the docker CLI
// prints in natural order, and the last line of a port number wins: udp
// over tcp for one number and, of several host bindings of one port, the
// last in that order ("[::]" after "0.0.0.0", host port 10000 after 9000).
// The same order is kept here so a job sees what upstream's hook gives it.
// The map is never nil: the runner loops over a service's ports and a null
// would throw.
func contextPorts(bindings []jobrun.PortBinding) map[string]string {
	type line struct{ text, port, hostPort string }
	lines := make([]line, 0, len(bindings))
	for _, b := range bindings {
		port, _, _ := strings.Cut(b.Port, "/")
		if !digits(port) || !digits(b.HostPort) {
			continue // upstream's pattern wants numbers on both sides
		}
		text := b.Port + " -> " + net.JoinHostPort(b.HostIP, b.HostPort)
		lines = append(lines, line{text: text, port: port, hostPort: b.HostPort})
	}
	slices.SortStableFunc(lines, func(a, b line) int { return naturalCompare(a.text, b.text) })
	out := make(map[string]string, len(lines))
	for _, l := range lines {
		out[l.port] = l.hostPort
	}
	return out
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// naturalCompare orders strings as the docker CLI orders the lines of
// `docker port`: runs of digits by their value and before any other
// character, other bytes as bytes.
func naturalCompare(a, b string) int {
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		da, db := isDigit(a[i]), isDigit(b[j])
		switch {
		case da != db:
			if da {
				return -1
			}
			return 1
		case !da:
			if a[i] != b[j] {
				return int(a[i]) - int(b[j])
			}
			i, j = i+1, j+1
		default:
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			// One value: fewer leading zeros first.
			if za, zb := i-si-len(na), j-sj-len(nb); za != zb {
				return za - zb
			}
		}
	}
	// One is a prefix of the other: the shorter first.
	return (len(a) - i) - (len(b) - j)
}

// ReadInput decodes the runner's stdin.
func ReadInput(r io.Reader) (Input, error) {
	var in Input
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return in, fmt.Errorf("reading hook input: %w", err)
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return in, fmt.Errorf("hook input is not the runner's JSON (%v): run mlci-runner hook only from ACTIONS_RUNNER_CONTAINER_HOOKS", err)
	}
	switch in.Command {
	case PrepareJob, CleanupJob, RunScriptStep, RunContainerStep:
	case "":
		return in, fmt.Errorf("hook input has no command: run mlci-runner hook only from ACTIONS_RUNNER_CONTAINER_HOOKS")
	default:
		return in, fmt.Errorf("unknown hook command %q: this mlci-runner knows %s, %s, %s and %s", in.Command, PrepareJob, RunScriptStep, RunContainerStep, CleanupJob)
	}
	return in, nil
}

// decode reads raw into v; an absent or null value leaves v as it is.
func decode(what string, raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("hook %s: %w", what, err)
	}
	return nil
}

// writeResponse writes v to the runner's response file. The runner created
// the file empty and reads it after the hook exits.
func writeResponse(path string, v any) error {
	if path == "" {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing the hook response: %w", err)
	}
	return nil
}

// event is the part of the workflow's event payload that decides whether a
// job comes from a fork.
type event struct {
	PullRequest *struct {
		Head struct {
			Repo *struct {
				FullName string `json:"full_name"`
				Fork     bool   `json:"fork"`
			} `json:"repo"`
		} `json:"head"`
	} `json:"pull_request"`
	Repository *struct {
		FullName string `json:"full_name"`
		Private  bool   `json:"private"`
	} `json:"repository"`
}

// forkJob reads the event file the runner mounts at /github/workflow and
// reports whether the job is a pull request from a fork of a public
// repository, and the base repository's name.
func forkJob(mounts []Mount) (fork bool, repo string, err error) {
	for _, m := range mounts {
		if m.TargetVolumePath != "/github/workflow" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(m.SourceVolumePath, "event.json"))
		if err != nil {
			return false, "", nil // no event: not a pull request run
		}
		var ev event
		if err := json.Unmarshal(data, &ev); err != nil {
			return false, "", fmt.Errorf("the workflow's event.json: %w", err)
		}
		if ev.Repository != nil {
			repo = ev.Repository.FullName
		}
		if ev.PullRequest == nil {
			return false, repo, nil
		}
		public := ev.Repository != nil && !ev.Repository.Private
		head := ev.PullRequest.Head.Repo
		if head == nil {
			// GitHub sends a null head repository once the fork is
			// deleted; the code is still the pull request's.
			return public, repo, nil
		}
		// head.fork is also true for a branch of a repository that is itself
		// a fork; what matters is whether the head lives elsewhere.
		fromFork := head.Fork
		if repo != "" && head.FullName != "" {
			fromFork = !strings.EqualFold(head.FullName, repo)
		}
		return fromFork && public, repo, nil
	}
	return false, "", nil
}
