package demo

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/sysdigemu"
)

// printer writes the demo's story for a person to read.
type printer struct {
	w io.Writer
}

func (p printer) line(s string) { fmt.Fprintln(p.w, s) }

func (p printer) title(s string) {
	p.line(s)
	p.line(strings.Repeat("=", len([]rune(s))))
}

func (p printer) kv(k, v string) { fmt.Fprintf(p.w, "  %-16s %s\n", k+":", v) }

func (p printer) step(i, n int, title string, params map[string]string) {
	p.line("")
	head := fmt.Sprintf("── step %d/%d: %s ", i, n, title)
	p.line(head + strings.Repeat("─", max(0, 100-len([]rune(head)))))
	if len(params) > 0 {
		p.line("  parameters: " + sortedPairs(params, nil))
	}
}

// hidden are properties every custom resource carries that tell a reader nothing new.
var hidden = map[string]bool{"ServiceToken": true, "ServiceTimeout": true}

func (p printer) event(e cfnsim.Event) {
	if !e.Custom {
		what := e.PhysicalID
		if arn, ok := e.Data["Arn"]; ok {
			what = fmt.Sprint(arn)
		}
		if e.RequestType == "Delete" {
			fmt.Fprintf(p.w, "  %-7s %-26s %s (simulated)\n", e.RequestType, e.LogicalID, e.ResourceType)
			return
		}
		fmt.Fprintf(p.w, "  %-7s %-26s %s (simulated) → %s\n", e.RequestType, e.LogicalID, e.ResourceType, what)
		return
	}
	phase := ""
	if e.Phase == "cleanup" || e.Phase == "rollback" {
		phase = " [" + e.Phase + "]"
	}
	fmt.Fprintf(p.w, "▶ %-7s %-26s %s%s  %s in %s\n", e.RequestType, e.LogicalID, e.ResourceType, phase, e.Status, e.Duration.Round(time.Millisecond))
	if e.RequestType != "Delete" {
		p.line("      sent:   " + sortedPairs(e.Properties, hidden))
		if changed := changes(e.OldProperties, e.Properties); changed != "" {
			p.line("      change: " + changed)
		}
	}
	if e.OldPhysicalID != "" && e.OldPhysicalID != e.PhysicalID {
		p.line("      answer: new physical id (replacement) " + e.PhysicalID)
		p.line("              old " + e.OldPhysicalID)
	} else {
		p.line("      answer: physical id " + e.PhysicalID)
	}
	if len(e.Data) > 0 {
		p.line("      data:   " + sortedPairs(e.Data, nil))
	}
	if e.Reason != "" {
		p.line("      reason: " + e.Reason)
	}
}

func (p printer) holds(ps []sysdigemu.StoredProvider) {
	if len(ps) == 0 {
		p.line("  Sysdig now holds: no provider")
		return
	}
	p.line("  Sysdig now holds:")
	for _, sp := range ps {
		regions := "all regions"
		if len(sp.Regions) > 0 {
			regions = strings.Join(sp.Regions, ",")
		}
		fmt.Fprintf(p.w, "    provider %-3s role %s  alias %q  %s  status %s\n", sp.ID, sp.RoleARN, sp.Alias, regions, sp.Status)
	}
}

func (p printer) outputs(o map[string]string) {
	p.line("  stack outputs: " + sortedPairs(o, nil))
}

func (p printer) ok(d time.Duration) {
	p.line(fmt.Sprintf("  ✔ as expected (%s)", d.Round(time.Millisecond)))
}

func (p printer) fail(err error, d time.Duration) {
	p.line(fmt.Sprintf("  ✘ NOT as expected after %s: %v", d.Round(time.Millisecond), err))
}

func sortedPairs[V any](m map[string]V, skip map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !skip[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return strings.Join(parts, " ")
}

func changes(old, cur map[string]any) string {
	if old == nil {
		return ""
	}
	var parts []string
	for k, v := range cur {
		if hidden[k] {
			continue
		}
		if fmt.Sprint(old[k]) != fmt.Sprint(v) {
			parts = append(parts, fmt.Sprintf("%s %v → %v", k, old[k], v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func (p printer) logTail(lines []string, n int) {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	p.line(fmt.Sprintf("  last %d lines the function and the runtime emulator printed:", len(lines)))
	for _, l := range lines {
		p.line("    " + l)
	}
}
