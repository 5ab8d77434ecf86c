package docs

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMakeHelp: demo and test first, then the build, deploy and develop groups, each
// line aligned, and every listed target documented in development.md.
func TestMakeHelp(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", "-s", "--no-print-directory", "help")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	t.Logf("make help:\n%s", out)
	lineRE := regexp.MustCompile(`^  (\S+)(\s+)(\S.*)$`)
	var targets, groups []string
	descCol := -1
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") {
			groups = append(groups, strings.TrimSuffix(line, ":"))
			continue
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		targets = append(targets, m[1])
		col := len(m[1]) + len(m[2])
		if descCol < 0 {
			descCol = col
		} else if col != descCol {
			t.Errorf("%q is not aligned with the other descriptions (column %d, want %d)", line, col, descCol)
		}
		if len(line) > 100 {
			t.Errorf("line of %d columns: %s", len(line), line)
		}
	}
	if len(targets) < 15 || targets[0] != "demo" || targets[1] != "test" {
		t.Errorf("targets %v: want demo and test first", targets)
	}
	want := []string{"build", "deploy", "develop"}
	if !slices.Equal(groups[:min(3, len(groups))], want) {
		t.Errorf("groups %v, want %v first", groups, want)
	}
	for _, name := range []string{"build", "templates", "cli", "publish", "playground", "bench", "fuzz"} {
		if !slices.Contains(targets, name) {
			t.Errorf("make help lacks %s", name)
		}
	}
	dev, err := os.ReadFile("development.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range targets {
		if name == "help" || name == "vet" || name == "clean" {
			continue
		}
		if !strings.Contains(string(dev), "make "+name) {
			t.Errorf("development.md does not mention make %s", name)
		}
	}
}
