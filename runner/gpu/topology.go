package gpu

import (
	"fmt"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvlinkIslands groups GPUs joined by active NVLinks and names each group
// after its smallest GPU bus id. Links to an NVSwitch join every GPU on that
// switch, so union-find runs over all link endpoints, not just GPUs. The
// result maps a GPU's normalised bus id to its island; GPUs without an
// active link are absent and fall back to their NUMA node.
func nvlinkIslands(handles []nvml.Device) map[string]string {
	uf := unionFind{}
	var linked []string
	for _, d := range handles {
		if d == nil {
			continue
		}
		p, ret := d.GetPciInfo()
		if ret != nvml.SUCCESS {
			continue
		}
		self := normBusID(busID(p.BusId))
		active := false
		for link := range nvml.NVLINK_MAX_LINKS {
			state, ret := d.GetNvLinkState(link)
			if ret == nvml.ERROR_INVALID_ARGUMENT || ret == nvml.ERROR_NOT_SUPPORTED ||
				ret == nvml.ERROR_FUNCTION_NOT_FOUND || ret == nvml.ERROR_GPU_IS_LOST {
				break // past the last link, no NVLink at all, or no GPU to ask
			}
			if ret != nvml.SUCCESS || state != nvml.FEATURE_ENABLED {
				continue
			}
			remote, ret := d.GetNvLinkRemotePciInfo(link)
			if ret != nvml.SUCCESS {
				continue
			}
			active = true
			uf.union(self, normBusID(busID(remote.BusId)))
		}
		if active {
			linked = append(linked, self)
		}
	}
	// Name each group by its smallest GPU bus id (switches do not count).
	names := map[string]string{}
	for _, g := range linked {
		root := uf.find(g)
		if cur, ok := names[root]; !ok || g < cur {
			names[root] = g
		}
	}
	out := make(map[string]string, len(linked))
	for _, g := range linked {
		out[g] = "nvlink:" + names[uf.find(g)]
	}
	return out
}

func islandOf(dev Device, nvlink map[string]string) string {
	if name, ok := nvlink[normBusID(dev.PCIBusID)]; ok && dev.PCIBusID != "" {
		return name
	}
	if dev.NUMANode >= 0 {
		return fmt.Sprintf("numa:%d", dev.NUMANode)
	}
	return ""
}

// normBusID makes bus ids comparable: NVML writes the domain with four or
// eight digits depending on the call and driver, in either case.
func normBusID(id string) string {
	id = strings.ToLower(id)
	domain, rest, ok := strings.Cut(id, ":")
	if !ok {
		return id
	}
	if len(domain) > 4 {
		if trimmed := strings.TrimLeft(domain[:len(domain)-4], "0"); trimmed == "" {
			domain = domain[len(domain)-4:]
		}
	}
	return domain + ":" + rest
}

type unionFind map[string]string

func (u unionFind) find(x string) string {
	for {
		p, ok := u[x]
		if !ok || p == x {
			return x
		}
		if gp, ok := u[p]; ok {
			u[x] = gp // path halving
		}
		x = p
	}
}

func (u unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u[ra] = rb
	}
}
