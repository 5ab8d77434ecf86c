package version

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// semver is Semantic Versioning 2.0.0's version syntax (without the leading v).
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

func TestVersionIsTheFileAndSemver(t *testing.T) {
	raw, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Version(), strings.TrimSpace(string(raw)); got != want {
		t.Errorf("Version() = %q, VERSION holds %q", got, want)
	}
	if !semver.MatchString(Version()) {
		t.Errorf("VERSION %q is not a semantic version such as 1.2.3", Version())
	}
	// The repository's top-level VERSION is the same file.
	top, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatalf("the top-level VERSION: %v", err)
	}
	if string(top) != string(raw) {
		t.Errorf("the top-level VERSION %q differs from internal/version/VERSION %q", top, raw)
	}
}

func TestStampedWins(t *testing.T) {
	old := stamped
	t.Cleanup(func() { stamped = old })
	stamped = " 9.9.9-rc.1 "
	if got := Version(); got != "9.9.9-rc.1" {
		t.Errorf("Version() = %q with a stamped version", got)
	}
}

func TestInfoAndString(t *testing.T) {
	b := Info()
	if b.Version != Version() || b.GoVersion == "" || b.Platform == "" {
		t.Errorf("Info() = %+v", b)
	}
	if b.Module != "sysdig-aws-connect" {
		t.Errorf("module %q, want sysdig-aws-connect", b.Module)
	}
	s := Build{Version: "1.2.3", Module: "m", ModuleVersion: "(devel)", Revision: "0123456789abcdef0123", Modified: true, GoVersion: "go1.26.0", Platform: "linux/arm64"}.String()
	if want := "1.2.3 (module m (devel), revision 0123456789ab (modified), go1.26.0 linux/arm64)"; s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
}
