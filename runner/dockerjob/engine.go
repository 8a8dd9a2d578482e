package dockerjob

import (
	"context"
	"slices"
	"sort"
)

// EngineInfo is what an operator needs to know about the engine before GPU
// jobs land on it.
type EngineInfo struct {
	Version  string
	Runtimes []string // registered OCI runtimes, sorted
	Default  string   // the default runtime
	CDI      bool     // CDI spec directories are configured
	// GPUCapable: the NVIDIA runtime is registered (or CDI is on), so a
	// DeviceRequest for GPUs can be honoured.
	GPUCapable bool
	InitOK     bool
}

// Info reads the engine's version, runtimes and init support.
func (c *Client) Info(ctx context.Context) (EngineInfo, error) {
	info, err := c.api.Info(ctx)
	if err != nil {
		return EngineInfo{}, engineError{err}
	}
	e := EngineInfo{
		Version: info.ServerVersion,
		Default: info.DefaultRuntime,
		CDI:     len(info.CDISpecDirs) > 0,
		InitOK:  info.InitBinary == "" || info.InitCommit.ID != "N/A",
	}
	for name := range info.Runtimes {
		e.Runtimes = append(e.Runtimes, name)
	}
	sort.Strings(e.Runtimes)
	e.GPUCapable = slices.Contains(e.Runtimes, "nvidia") || e.CDI
	return e, nil
}
