package main

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // -root
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"   // no -root
)

// serveRegistry serves distribution's registry in this process on addr, in
// plain HTTP as mlci speaks to a loopback registry, until the process is
// killed. It prints the address once it listens, so a script can wait for
// that line.
func serveRegistry(ctx context.Context, addr, root string) error {
	storage := configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	if root != "" {
		storage = configuration.Storage{
			"filesystem":  configuration.Parameters{"rootdirectory": root},
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		}
	}
	config := &configuration.Configuration{Storage: storage}
	config.Log.Level = "error"
	config.Log.AccessLog.Disabled = true
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	fmt.Println("registry listening on", l.Addr())
	return http.Serve(l, handlers.NewApp(ctx, config))
}
