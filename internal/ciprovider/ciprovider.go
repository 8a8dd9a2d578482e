// Package ciprovider tells mlci which CI system runs it and what that system
// offers: the event that started the run, links to the run and repository,
// step outputs and secret masking, the forge to post to, and the job's
// registry credentials.
//
// Every CI system is one implementation of the unexported system interface
// (Provider plus running), listed once in systems. Adding one (Gitea or
// Forgejo Actions, Bitbucket Pipelines) is a new file implementing it and one
// more line in that list; nothing outside this package switches on CI
// variables.
package ciprovider

import (
	"errors"
	"io"
	"os"

	"github.com/mlci/mlci/internal/forge"
)

// Provider describes the CI system a run is in ("local" when none).
type Provider interface {
	// Name is "github", "gitlab" or "local", as --forge spells it.
	Name() string
	// Event is what started the run.
	Event() Event
	// RunURL links the CI run; "" when there is none.
	RunURL() string
	// RepositoryURL is the project's web address as the CI names it; ""
	// when it names none (the caller may fall back to a git remote).
	RepositoryURL() string
	// Actor is who started the run, or the local user.
	Actor() string
	// TargetBranch is the branch the change merges into as the CI names
	// it: a pull or merge request's target, else the default branch where
	// the CI says; "" when it does not say (git's remote HEAD decides).
	TargetBranch() string
	// BuilderID names the build platform in SLSA provenance.
	BuilderID() string
	// CommentLimit is the forge's comment size in characters; 0 means no
	// limit (the local report file).
	CommentLimit() int
	// Outputs are the step outputs and step summary of the job; nil when
	// the CI has none.
	Outputs() Outputs
	// Mask keeps secret out of the job log even if something prints it;
	// a no-op where the CI offers no masking.
	Mask(secret string)
	// WorkflowCommands reports whether the CI turns "::error file=…::"
	// lines on stdout into annotations.
	WorkflowCommands() bool
	// Input is the value of an Action input (INPUT_<NAME>); "" outside a
	// GitHub Action.
	Input(name string) string
	// Forge is the client that posts reports and records deployments. root
	// is where the local forge writes its report. An error for missing
	// variables (no token, no project) is a *ConfigError.
	Forge(root string) (forge.Forge, error)
	// RegistryCredential is the username and password for an OCI registry
	// host; both "" for anonymous access.
	RegistryCredential(host string) (username, password string, err error)
}

// Outputs are what a job hands to its later steps and to the run's page.
type Outputs interface {
	SetOutput(name, value string)
	AddStepSummary(markdown string)
}

// ConfigError says the CI's variables do not describe a forge to post to,
// as opposed to a client that could not be built.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Options are what Detect reads besides the variables. The zero value
// reads files with os.ReadFile and discards workflow commands.
type Options struct {
	// ReadFile reads the event payload a CI names (GITHUB_EVENT_PATH).
	ReadFile func(string) ([]byte, error)
	// Stdout is where workflow commands (::add-mask::) go: the step's
	// standard output, which the runner reads.
	Stdout io.Writer
}

// env is what a system reads: the variables, files and the log.
type env struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	stdout   io.Writer
}

func newEnv(getenv func(string) string, opt Options) env {
	e := env{getenv: getenv, readFile: opt.ReadFile, stdout: opt.Stdout}
	if e.getenv == nil {
		e.getenv = func(string) string { return "" }
	}
	if e.readFile == nil {
		e.readFile = os.ReadFile
	}
	if e.stdout == nil {
		e.stdout = io.Discard
	}
	return e
}

// system is one CI system: what it provides, and how to tell a job of it.
type system interface {
	Provider
	// running reports whether the process runs in one of this system's
	// jobs.
	running() bool
}

// systems lists the CI systems mlci knows, in the order Detect tries them;
// local, the fallback, is not among them. A new CI system is one more line.
func systems(e env) []system {
	return []system{
		newGitHub(e),
		newGitLab(e),
	}
}

// Detect returns the CI system the process runs in, from its variables:
// the first of systems that claims the job, else local.
func Detect(getenv func(string) string, opt Options) Provider {
	e := newEnv(getenv, opt)
	all := systems(e)
	for _, s := range all {
		if s.running() {
			return newProvider(e, s, all)
		}
	}
	return newProvider(e, localSystem{e: e}, all)
}

// Named returns the system that --forge names, for posting there whatever
// CI runs the job; false when no system has that name.
func Named(name string, getenv func(string) string, opt Options) (Provider, bool) {
	e := newEnv(getenv, opt)
	all := systems(e)
	for _, s := range append(all, localSystem{e: e}) {
		if s.Name() == name {
			return newProvider(e, s, all), true
		}
	}
	return nil, false
}

// Names lists the systems Named knows, local last.
func Names() []string {
	var names []string
	for _, s := range append(systems(env{}), localSystem{}) {
		names = append(names, s.Name())
	}
	return names
}

// provider is a system with fallbacks for the values that only describe
// the run. A job's variables can describe it without the system being
// detected (a container step handed GITHUB_REPOSITORY but not
// GITHUB_ACTIONS, a shell with GITHUB_TOKEN exported for ghcr.io), so
// links, the actor and registry credentials come from the detected system
// first, then from the others' variables in list order, and from local
// last. What decides behaviour (the event, the forge, outputs, masking)
// follows the detected system alone.
type provider struct {
	system
	order  []system // where descriptive values are looked for
	getenv func(string) string
}

// newProvider puts s first; all are the listed systems (s may be among
// them), local comes last.
func newProvider(e env, s system, all []system) *provider {
	p := &provider{system: s, getenv: e.getenv}
	if s.Name() != localName {
		p.order = append(p.order, s)
	}
	for _, o := range all {
		if o.Name() != s.Name() {
			p.order = append(p.order, o)
		}
	}
	p.order = append(p.order, localSystem{e: e})
	return p
}

func (p *provider) first(value func(system) string) string {
	for _, s := range p.order {
		if v := value(s); v != "" {
			return v
		}
	}
	return ""
}

func (p *provider) RunURL() string        { return p.first(system.RunURL) }
func (p *provider) RepositoryURL() string { return p.first(system.RepositoryURL) }
func (p *provider) Actor() string         { return p.first(system.Actor) }
func (p *provider) TargetBranch() string  { return p.first(system.TargetBranch) }

// RegistryCredential prefers mlci's own variables, which name credentials
// the user chose for any host, over the job tokens a CI hands out for its
// own registry.
func (p *provider) RegistryCredential(host string) (string, string, error) {
	user, pass := p.getenv("MLCI_REGISTRY_USERNAME"), p.getenv("MLCI_REGISTRY_PASSWORD")
	switch {
	case user != "" && pass != "":
		return user, pass, nil
	case user != "" || pass != "":
		return "", "", errors.New("registry credentials: set both MLCI_REGISTRY_USERNAME and MLCI_REGISTRY_PASSWORD, or neither")
	}
	for _, s := range p.order {
		user, pass, err := s.RegistryCredential(host)
		if err != nil || user != "" {
			return user, pass, err
		}
	}
	return "", "", nil
}

// Event is what started a CI run.
type Event int

// The events mlci tells apart. A merge is a push to the default branch: the
// moment a merged model reaches its on: merge stage.
const (
	EventUnknown     Event = iota
	EventPullRequest       // a pull or merge request's pipeline
	EventMerge             // a push to the default branch
	EventPush              // a push to another branch, or of a tag
	EventSchedule          // a scheduled run
	EventManual            // started by hand or through the API
)

func (e Event) String() string {
	switch e {
	case EventPullRequest:
		return "pull_request"
	case EventMerge:
		return "merge"
	case EventPush:
		return "push"
	case EventSchedule:
		return "schedule"
	case EventManual:
		return "manual"
	}
	return "unknown"
}

// pushEvent tells a merge from another push: a push of branch (a full ref
// or a branch name) that is the default branch.
func pushEvent(branch, defaultBranch string) Event {
	if branch != "" && defaultBranch != "" && branch == defaultBranch {
		return EventMerge
	}
	return EventPush
}
