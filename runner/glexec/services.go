package glexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/mlci/mlci/runner/jobrun"
)

// startService pulls and starts the job's i-th service on network, under
// its aliases, with the job container's labels (its owner's included, see
// checkHolder). Services get no GPU: the lease is the job's, and a service
// holding a leased GPU would outlive no check of it.
//
// A service's environment is only the variables GitLab gives it in
// CI_JOB_SERVICES (`services: variables:`). The job's CUSTOM_ENV_ variables
// are not passed, unlike GitLab's Docker executor: they hold the job token
// and registry password, and a service image is often a third party's. Set
// what a service needs (POSTGRES_PASSWORD, ...) under its own variables.
func (e *Executor) startService(ctx context.Context, job string, i int, svc Service, network string, labels map[string]string) error {
	if err := e.Engine.EnsureImage(ctx, svc.Name, e.registryAuth(svc.Name)); err != nil {
		return fmt.Errorf("service %s: %w", svc.Name, err)
	}
	aliases := svc.Aliases()
	e.logf("starting service %s as %s", svc.Name, strings.Join(aliases, ", "))
	id, err := e.Engine.Create(ctx, jobrun.Container{
		Name:       serviceName(job, i),
		Image:      svc.Name,
		Entrypoint: svc.Entrypoint,
		Cmd:        svc.Command,
		Env:        svc.Variables,
		Labels:     merge(labels, map[string]string{"mlci.service": strconv.Itoa(i)}),
		Network:    network,
		Aliases:    aliases,
	})
	if err != nil {
		return fmt.Errorf("service %s: %w", svc.Name, err)
	}
	if err := e.Engine.Start(ctx, id); err != nil {
		return fmt.Errorf("service %s: %w", svc.Name, err)
	}
	if err := e.Engine.WaitHealthy(ctx, id, time.Duration(e.Config.ServiceWait)); err != nil {
		return fmt.Errorf("service %s: %w", svc.Name, err)
	}
	// As GitLab's docker executor: wait for the exposed ports, and only
	// warn when they stay closed; some services open them late on purpose.
	if err := e.Engine.WaitPorts(ctx, id, network, servicePortWait); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.logf("warning: service %s is probably not ready: %v; the job goes on", svc.Name, err)
	}
	return nil
}

// servicePortWait is GitLab Runner's default wait_for_services_timeout.
const servicePortWait = 30 * time.Second

// Service is one of the job's services, an element of the JSON array GitLab
// Runner passes in CUSTOM_ENV_CI_JOB_SERVICES.
type Service struct {
	// Name is the image.
	Name string `json:"name"`
	// Alias is the job's own alias, or several separated by commas or
	// blanks; "" for none.
	Alias      string   `json:"alias"`
	Entrypoint []string `json:"entrypoint"`
	Command    []string `json:"command"`
	// Variables are the service's own (`services: variables:`), which
	// recent GitLab Runners include.
	Variables serviceVariables `json:"variables"`
}

// serviceVariables reads the variables as GitLab Runner writes them, an
// object of names and values, or as the job API's list of {key, value}.
type serviceVariables map[string]string

func (v *serviceVariables) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err == nil {
		*v = m
		return nil
	}
	var list []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("variables: want an object of names and values")
	}
	m = make(map[string]string, len(list))
	for _, kv := range list {
		m[kv.Key] = kv.Value
	}
	*v = m
	return nil
}

// Aliases are the names the service answers to on the job's network: its
// explicit aliases, then GitLab's two defaults derived from the image.
func (s Service) Aliases() []string {
	var out []string
	add := func(a string) {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range strings.Fields(strings.ReplaceAll(s.Alias, ",", " ")) {
		add(a)
	}
	for _, a := range DefaultAliases(s.Name) {
		add(a)
	}
	return out
}

// DefaultAliases are the host names GitLab Runner gives a service without
// asking: the image without tag, digest or registry port, with each "/"
// replaced by "__" and, in the second, by "-".
// registry.example.com:5000/group/image:tag gives
// registry.example.com__group__image and registry.example.com-group-image.
func DefaultAliases(image string) []string {
	name, _, _ := strings.Cut(image, "@")
	slash := strings.LastIndex(name, "/")
	if colon := strings.LastIndex(name, ":"); colon > slash {
		name = name[:colon]
	}
	if first, rest, ok := strings.Cut(name, "/"); ok {
		host, _, _ := strings.Cut(first, ":")
		name = host + "/" + rest
	}
	if name == "" {
		return nil
	}
	a, b := strings.ReplaceAll(name, "/", "__"), strings.ReplaceAll(name, "/", "-")
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// services parses CUSTOM_ENV_CI_JOB_SERVICES; unset, null or [] is none.
func (e *Executor) services() ([]Service, error) {
	raw := strings.TrimSpace(e.job("CI_JOB_SERVICES"))
	if raw == "" || raw == "null" {
		return nil, nil
	}
	var services []Service
	if err := json.Unmarshal([]byte(raw), &services); err != nil {
		return nil, fmt.Errorf("CUSTOM_ENV_CI_JOB_SERVICES is not the JSON array of services GitLab Runner passes (%v): check the job's services: list in .gitlab-ci.yml", err)
	}
	for i, s := range services {
		name := strings.TrimSpace(s.Name)
		switch {
		case name == "":
			return nil, fmt.Errorf("CUSTOM_ENV_CI_JOB_SERVICES: service %d has no name: give each service an image", i)
		default:
			if _, err := reference.ParseNormalizedNamed(name); err != nil {
				return nil, fmt.Errorf("CUSTOM_ENV_CI_JOB_SERVICES: service %d image %q is not an image reference (%v): check the job's services: list", i, name, err)
			}
		}
		services[i].Name = name
	}
	return services, nil
}
