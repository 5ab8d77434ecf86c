// Package version is the one release version of sysdig-aws-connect, shared by the CLI
// (sysdig-connect --version), the function (its first log line) and the committed
// templates (Description and Metadata, written by make templates).
//
// The version comes from the file VERSION in this directory (the repository's top-level
// VERSION links to it), embedded at build time, so every way of building (go build,
// go install, go test, make) agrees. A release pipeline may override it without editing
// the file:
//
//	go build -ldflags "-X sysdig-aws-connect/internal/version.stamped=0.2.0-rc.1" ./cmd/sysdig-connect
package version

import (
	_ "embed"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

//go:embed VERSION
var embedded string

// stamped is set with -ldflags -X; empty means the embedded VERSION.
var stamped string

// Version is the release version, such as "0.2.0".
func Version() string {
	if v := strings.TrimSpace(stamped); v != "" {
		return v
	}
	return strings.TrimSpace(embedded)
}

// Build describes the running binary.
type Build struct {
	Version       string `json:"version"`            // the release version (Version)
	Module        string `json:"module"`             // the main module's path
	ModuleVersion string `json:"moduleVersion"`      // the module version Go recorded: (devel) for a local build
	Revision      string `json:"revision,omitempty"` // the VCS commit the binary was built from, when Go recorded it
	Modified      bool   `json:"modified,omitempty"` // the work tree had uncommitted changes
	GoVersion     string `json:"goVersion"`
	Platform      string `json:"platform"` // GOOS/GOARCH
}

// Info reads the build information Go embeds in every binary (runtime/debug).
func Info() Build {
	b := Build{Version: Version(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module, b.ModuleVersion = bi.Main.Path, bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String renders b on one line: "0.2.0 (module sysdig-aws-connect (devel), revision 1a2b3c4d5e6f, go1.26.0 linux/amd64)".
func (b Build) String() string {
	parts := []string{}
	if b.Module != "" {
		m := "module " + b.Module
		if b.ModuleVersion != "" {
			m += " " + b.ModuleVersion
		}
		parts = append(parts, m)
	}
	if b.Revision != "" {
		r := "revision " + short(b.Revision)
		if b.Modified {
			r += " (modified)"
		}
		parts = append(parts, r)
	}
	parts = append(parts, b.GoVersion+" "+b.Platform)
	return fmt.Sprintf("%s (%s)", b.Version, strings.Join(parts, ", "))
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
