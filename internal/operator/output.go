package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"text/tabwriter"
	"unicode"

	"sysdig-aws-connect/internal/sysdig"
)

// redactor holds the secrets that must never be written.
type redactor struct {
	mu      sync.Mutex
	secrets []string
}

// minRedactLen is the shortest secret the redactor removes: replacing every
// occurrence of a one- or two-letter "token" would garble every message, and
// real Sysdig tokens are UUIDs (the API client scrubs its own errors anyway).
const minRedactLen = 8

func (r *redactor) add(s string) {
	if s = strings.TrimSpace(s); len(s) < minRedactLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.secrets {
		if have == s {
			return
		}
	}
	r.secrets = append(r.secrets, s)
}

func (r *redactor) redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

// redactingWriter removes secrets from everything written through it. Every
// write in this package is a whole line or document, so a secret is never split
// across writes.
type redactingWriter struct {
	w io.Writer
	r *redactor
}

func (rw *redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(rw.w, rw.r.redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// lineHandler writes log records as one plain line each on stderr:
// "sysdig-connect: warning: message (key=value, …)".
type lineHandler struct {
	mu       sync.Mutex
	w        io.Writer
	level    slog.Level
	attrs    []slog.Attr
	verbose  bool // full retry details
	attempts int  // attempts in all, for "retrying (2/5)"
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	if !h.verbose && r.Level == slog.LevelWarn {
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		if line := retryLine(r.Message, attrs, h.attempts); line != "" {
			h.mu.Lock()
			defer h.mu.Unlock()
			_, err := io.WriteString(h.w, Name+": "+oneLine(line)+"\n")
			return err
		}
	}
	var b strings.Builder
	b.WriteString(Name + ": " + strings.ToLower(r.Level.String()) + ": ")
	if r.Level == slog.LevelWarn {
		b.Reset()
		b.WriteString(Name + ": warning: ")
	}
	b.WriteString(oneLine(r.Message))
	var kv []string
	for _, a := range h.attrs {
		kv = append(kv, a.Key+"="+a.Value.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		kv = append(kv, a.Key+"="+a.Value.String())
		return len(kv) < 32
	})
	if len(kv) > 0 {
		b.WriteString(" (" + oneLine(strings.Join(kv, ", ")) + ")")
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, level: h.level, verbose: h.verbose, attempts: h.attempts, attrs: append(append([]slog.Attr{}, h.attrs...), attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// clean makes text from a server safe for a terminal: control characters
// become spaces and it is capped at max runes.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n >= max {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// providerJSON is a provider in JSON output. Empty regions means all regions.
type providerJSON struct {
	ID      string   `json:"id"`
	RoleARN string   `json:"roleArn"`
	Alias   string   `json:"alias"`
	Regions []string `json:"regions"`
	Status  string   `json:"status"`
	// DuplicateRole is set (providers list) when another provider holds the same role.
	DuplicateRole bool `json:"duplicateRole,omitempty"`
}

func toJSON(p sysdig.Provider) providerJSON {
	regions := p.Regions
	if regions == nil {
		regions = []string{}
	}
	return providerJSON{ID: p.ID, RoleARN: p.RoleARN, Alias: p.Alias, Regions: regions, Status: p.Status}
}

func regionsText(regions []string) string {
	if len(regions) == 0 {
		return "all"
	}
	return clean(strings.Join(regions, ","), 400)
}

func orDash(s string, max int) string {
	if s == "" {
		return "-"
	}
	return clean(s, max)
}

// writeJSON writes v as indented JSON.
func (a *app) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(append(b, '\n'))
	return err
}

// writeProviderTable writes providers as an aligned table.
func (a *app) writeProviderTable(ps []sysdig.Provider) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE ARN\tALIAS\tREGIONS\tSTATUS")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", orDash(p.ID, 128), orDash(p.RoleARN, 300), orDash(p.Alias, 100), regionsText(p.Regions), orDash(p.Status, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(a.stdout, b.String())
	return err
}

// writeProvider writes one provider as labelled lines.
func (a *app) writeProvider(p sysdig.Provider, indent string) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "%sProvider ID:\t%s\n", indent, orDash(p.ID, 128))
	fmt.Fprintf(tw, "%sRole ARN:\t%s\n", indent, orDash(p.RoleARN, 300))
	fmt.Fprintf(tw, "%sAlias:\t%s\n", indent, orDash(p.Alias, 100))
	fmt.Fprintf(tw, "%sRegions:\t%s\n", indent, regionsText(p.Regions))
	fmt.Fprintf(tw, "%sStatus:\t%s\n", indent, orDash(p.Status, 60))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(a.stdout, b.String())
	return err
}
