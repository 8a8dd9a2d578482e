package dockerjob

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"
)

// WaitPorts waits until every TCP port a container exposes accepts
// connections on its address in network, as GitLab Runner does for a
// job's services (postgres has no health check; its port is the sign it is
// up). It dials from this host, which reaches containers on a local bridge
// network. A container that exposes no port is ready at once.
func (c *Client) WaitPorts(ctx context.Context, id, network string, timeout time.Duration) error {
	info, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspecting container %s: %w", shortID(id), err)
	}
	if info.Config == nil || info.NetworkSettings == nil || len(info.Config.ExposedPorts) == 0 {
		return nil
	}
	ep := info.NetworkSettings.Networks[network]
	if ep == nil || ep.IPAddress == "" {
		return fmt.Errorf("container %s has no address on network %s", shortID(id), network)
	}
	var ports []string
	for p := range info.Config.ExposedPorts {
		if p.Proto() == "tcp" {
			ports = append(ports, p.Port())
		}
	}
	sort.Strings(ports)
	deadline := time.Now().Add(timeout)
	var dialer net.Dialer
	for _, port := range ports {
		addr := net.JoinHostPort(ep.IPAddress, port)
		for {
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			conn, err := dialer.DialContext(dctx, "tcp", addr)
			cancel()
			if err == nil {
				conn.Close()
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("container %s: port %s not open after %s (ports %s)", shortID(id), port, timeout, strings.Join(ports, ", "))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// PortBinding is one host address a container port is published on.
type PortBinding struct {
	// Port is the container port as the engine names it: "80/tcp".
	Port     string
	HostIP   string
	HostPort string
}

// PortBindings returns every host binding of a container's published ports
// as the engine reports them, for callers that shape them for a protocol:
// a port published on IPv4 and IPv6, or on several host ports, has several.
func (c *Client) PortBindings(ctx context.Context, id string) ([]PortBinding, error) {
	info, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspecting container %s: %w", shortID(id), err)
	}
	out := []PortBinding{}
	if info.NetworkSettings == nil {
		return out, nil
	}
	for port, bindings := range info.NetworkSettings.Ports {
		for _, b := range bindings {
			out = append(out, PortBinding{Port: string(port), HostIP: b.HostIP, HostPort: b.HostPort})
		}
	}
	return out, nil
}
