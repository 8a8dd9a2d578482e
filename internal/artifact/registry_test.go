package artifact

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// TestRoundTripRegistry runs the same push/tag/pull against distribution's
// registry in-process, so the registry protocol is exercised without Docker.
func TestRoundTripRegistry(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	config := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory":    configuration.Parameters{},
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		},
	}
	config.Log.Level = "error"
	srv := httptest.NewServer(handlers.NewApp(ctx, config))
	t.Cleanup(srv.Close)

	host := strings.TrimPrefix(srv.URL, "http://") // 127.0.0.1:PORT, so plain HTTP
	s, err := Open(ctx, "oci://"+host+"/mlci/digits", "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s)
}
