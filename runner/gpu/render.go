package gpu

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Render writes the human table `mlci-runner gpus` prints: a versions line,
// one row per GPU, and under each GPU its MIG devices, processes and, if it
// is unhealthy, why.
func Render(w io.Writer, inv Inventory) error {
	if _, err := fmt.Fprintf(w, "Driver %s  CUDA %s  NVML %s\n", orDash(inv.Driver), orDash(inv.CUDA), orDash(inv.NVML)); err != nil {
		return fmt.Errorf("render GPUs: %w", err)
	}
	if len(inv.GPUs) == 0 {
		if _, err := fmt.Fprintln(w, "No GPUs."); err != nil {
			return fmt.Errorf("render GPUs: %w", err)
		}
		return nil
	}
	// The GPU rows are aligned on their own, then the lines about each GPU
	// are slotted in under it: tabwriter would let those lines reset the
	// column widths of the rows that follow them.
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IDX\tNAME\tUUID\tBUS ID\tMEMORY\tUTIL\tTEMP\tPOWER\tISLAND\tHEALTH")
	for _, d := range inv.GPUs {
		health := "ok"
		if !d.Health.Healthy {
			health = "UNHEALTHY"
		}
		idx := "?"
		if d.Index >= 0 {
			idx = fmt.Sprint(d.Index)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			idx, orDash(d.Name), orDash(d.UUID), orDash(d.PCIBusID),
			memory(d.MemoryUsed, d.MemoryTotal), percent(d.Utilization), celsius(d.TemperatureC),
			power(d.PowerW, d.PowerLimitW), orDash(d.Island), health)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("render GPUs: %w", err)
	}
	rows := strings.SplitAfter(table.String(), "\n")
	indent := strings.Repeat(" ", strings.Index(rows[0], "NAME"))
	var out strings.Builder
	out.WriteString(rows[0])
	for i, d := range inv.GPUs {
		out.WriteString(rows[i+1])
		for _, m := range d.MIGDevices {
			fmt.Fprintf(&out, "%sMIG %d  %s  %s  GI %d  CI %d\n",
				indent, m.Index, m.UUID, gib(m.MemoryTotal), m.GPUInstance, m.ComputeInstance)
		}
		for _, p := range d.Processes {
			fmt.Fprintf(&out, "%sPID %d  %s\n", indent, p.PID, gib(p.UsedMemory))
		}
		for _, r := range d.Health.Reasons {
			fmt.Fprintf(&out, "%s! %s\n", indent, r)
		}
	}
	if _, err := io.WriteString(w, out.String()); err != nil {
		return fmt.Errorf("render GPUs: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func gib(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

func memory(used, total uint64) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f/%.1f GiB", float64(used)/(1<<30), float64(total)/(1<<30))
}

func percent(p *uint32) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%d%%", *p)
}

func celsius(c *uint32) string {
	if c == nil {
		return "-"
	}
	return fmt.Sprintf("%dC", *c)
}

func power(draw, limit *float64) string {
	switch {
	case draw != nil && limit != nil:
		return fmt.Sprintf("%.0f/%.0f W", *draw, *limit)
	case draw != nil:
		return fmt.Sprintf("%.0f W", *draw)
	}
	return "-"
}
