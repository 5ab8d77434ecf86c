package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/orgreport"
)

// TestRunOrg plays make demo-org: every verdict shows, the JSON report is written, and
// reconcile removes exactly the orphan the deployer created.
func TestRunOrg(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := RunOrg(ctx, OrgConfig{Out: &out, OutDir: dir}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	story := out.String()
	for _, v := range orgreport.Verdicts {
		if !strings.Contains(story, "  "+string(v)+"  ") && !strings.Contains(story, " "+string(v)+" ") {
			t.Errorf("the demo never shows %s", v)
		}
	}
	for _, want := range []string{
		"20 accounts: 13 OK, 1 PENDING, 1 FAILED, 1 MISSING, 1 ORPHAN, 1 DRIFT, 1 UNHEALTHY, 1 UNKNOWN",
		"would deregister provider", "deregistered provider", `"action":"deregister"`,
		"20 accounts: 14 OK, 1 PENDING, 1 FAILED, 1 MISSING, 0 ORPHAN", "The orphan is gone",
	} {
		if !strings.Contains(story, want) {
			t.Errorf("the demo lacks %q", want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "org-status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep orgreport.Report
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Rows) != 20 || rep.Counts[orgreport.VerdictOrphan] != 1 {
		t.Fatalf("org-status.json: %v, %d rows, counts %v", err, len(rep.Rows), rep.Counts)
	}
	page, err := os.ReadFile(filepath.Join(dir, "org-status.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") || strings.Count(string(page), `<tr data-verdict=`) != 20 ||
		strings.Count(string(page), `<tr data-verdict="ORPHAN"`) != 1 {
		t.Errorf("org-status.html is not the report's page:\n%.400s", page)
	}
	if t.Failed() {
		t.Log(story)
	}
}
