package operator

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/orgreport"
	"sysdig-aws-connect/internal/orgsim"
	"sysdig-aws-connect/internal/registry"
)

// startOrg plays the demo organization and returns how to run the CLI against it.
func startOrg(t *testing.T) (*orgsim.World, orgsim.Scenario, func(args ...string) (int, string, string), *Deps) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	w, err := orgsim.Start(ctx, orgsim.Options{RatePerMinute: 600})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	sc, err := w.PlayScenario(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deps := Deps{
		OrgAWS: func(context.Context, string) (OrgClients, error) {
			return OrgClients{CloudFormation: w.CloudFormation(), Organizations: w.Organizations(), DynamoDB: w.Dynamo.Client()}, nil
		},
		Terminal: func() bool { return false },
		Retry:    RetryPolicy{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 2},
	}
	env := map[string]string{TokenEnv: orgsim.Token}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Run(ctx, args, &stdout, &stderr, func(k string) string { return env[k] }, deps)
		return code, stdout.String(), stderr.String()
	}
	return w, sc, run, &deps
}

func TestOrgStatusAndReconcile(t *testing.T) {
	w, sc, run, deps := startOrg(t)
	status := []string{"org", "status", "--stack", orgsim.StackName}

	code, out, errOut := run(status...)
	if code != ExitNotAllOK {
		t.Fatalf("exit %d, stderr %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"20 accounts: 13 OK, 1 PENDING, 1 FAILED, 1 MISSING, 1 ORPHAN, 1 DRIFT, 1 UNHEALTHY, 1 UNKNOWN",
		"ORPHAN " + sc.Closed + ":\n    SYSDIG_MONITOR_API_TOKEN=… sysdig-connect deregister --api-url " + w.SysdigURL + " --role-arn " + orgsim.RoleARN(sc.Closed) + " " + sc.ClosedProvider,
		"MISSING " + sc.NoInstance + ":\n    aws cloudformation create-stack-instances --stack-set-name " + orgsim.StackSet + " --deployment-targets OrganizationalUnitIds=" + w.Target + ",Accounts=" + sc.NoInstance,
		"already exists in stack",
		"AccessDenied: Sysdig could not assume",
		`alias "renamed-by-hand" instead of "acme-` + sc.Drifted + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errOut, "reading Sysdig") {
		t.Fatalf("a progress line outside a terminal: %q", errOut)
	}
	deps.Terminal = func() bool { return true }
	if _, _, errOut = run(status...); !strings.Contains(errOut, "\rreading Sysdig: 17 of 17 providers") {
		t.Fatalf("no progress line on a terminal: %q", errOut)
	}
	deps.Terminal = func() bool { return false }

	// JSON to a file, CSV on stdout: the same rows.
	file := filepath.Join(t.TempDir(), "org-status.json")
	code, out, _ = run(append(status, "--format", "json", "--output", file)...)
	if code != ExitNotAllOK || !strings.Contains(out, "Wrote "+file) || !strings.Contains(out, "20 accounts: 13 OK") {
		t.Fatalf("json: exit %d, %s", code, out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rep orgreport.Report
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Rows) != 20 || rep.Counts[orgreport.VerdictOrphan] != 1 || rep.StackSet != orgsim.StackSet {
		t.Fatalf("json report: %v %+v", err, rep.Counts)
	}
	code, out, errOut = run(append(status, "--format", "csv")...)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != ExitNotAllOK || err != nil || len(recs) != 21 || recs[0][0] != "account_id" || !strings.Contains(errOut, "20 accounts:") {
		t.Fatalf("csv: exit %d, %v, %d lines, stderr %q", code, err, len(recs), errOut)
	}

	// --format html writes the page alone on stdout (the summary goes to stderr).
	code, out, errOut = run(append(status, "--format", "html")...)
	if code != ExitNotAllOK || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(out), "</html>") ||
		strings.Count(out, `<tr data-verdict=`) != 20 || !strings.Contains(errOut, "20 accounts:") {
		t.Fatalf("html: exit %d, stderr %q\n%.400s", code, errOut, out)
	}

	// --no-sysdig needs no token and reads nothing at Sysdig.
	before := w.Sysdig.Stats()
	code, out, _ = run(append(status, "--no-sysdig")...)
	if code != ExitNotAllOK || !strings.Contains(out, "0 DRIFT, 0 UNHEALTHY, 0 UNKNOWN") || w.Sysdig.Stats() != before {
		t.Fatalf("--no-sysdig: exit %d\n%s", code, out)
	}

	// The dry run lists and changes nothing, and its suggestion repeats the flags in use.
	reconcile := []string{"org", "reconcile", "--stack", orgsim.StackName}
	code, out, errOut = run(append(reconcile, "--region", "eu-west-1")...)
	if want := "To carry it out: sysdig-connect org reconcile --stack " + orgsim.StackName + " --region eu-west-1 --apply\n"; code != ExitOK || !strings.Contains(out, want) {
		t.Fatalf("dry run with --region: exit %d, want %q in\n%s", code, want, out)
	}
	code, out, errOut = run(reconcile...)
	if code != ExitOK || !strings.Contains(out, "would deregister provider "+sc.ClosedProvider+" of account "+sc.Closed) || !strings.Contains(out, "Dry run: 1 registration(s)") ||
		!strings.Contains(out, "StackSet commands to run yourself") || !strings.Contains(errOut, `"account":"`+sc.Closed+`","provider_id":"`+sc.ClosedProvider+`"`) {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if !hasProvider(w, sc.ClosedProvider) {
		t.Fatal("the dry run deregistered the orphan")
	}

	// --apply removes exactly the orphan, marks its record, prints the commands.
	code, out, errOut = run(append(reconcile, "--apply")...)
	if code != ExitOK || !strings.Contains(out, "deregistered provider "+sc.ClosedProvider+" of account "+sc.Closed) ||
		!strings.Contains(out, "create-stack-instances") || !strings.Contains(out, "update-stack-instances") {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if hasProvider(w, sc.ClosedProvider) || len(w.Sysdig.Providers()) != 16 {
		t.Fatalf("after apply: %d providers", len(w.Sysdig.Providers()))
	}
	rec, ok, err := w.Store.Get(context.Background(), registry.Key{StackID: orgsim.InstanceStackID(sc.Closed), LogicalResourceID: "SysdigProvider"})
	if err != nil || !ok || rec.State != registry.StateRemoved {
		t.Fatalf("record after apply: %+v %v %v", rec, ok, err)
	}
	// A second run does nothing.
	code, out, _ = run(append(reconcile, "--apply")...)
	if code != ExitOK || !strings.Contains(out, "Nothing to deregister") || len(w.Sysdig.Providers()) != 16 {
		t.Fatalf("second apply: exit %d\n%s", code, out)
	}
	code, out, _ = run(status...)
	if code != ExitNotAllOK || !strings.Contains(out, "20 accounts: 14 OK, 1 PENDING, 1 FAILED, 1 MISSING, 0 ORPHAN") {
		t.Fatalf("status after reconcile: exit %d\n%s", code, out)
	}
}

func hasProvider(w *orgsim.World, id string) bool {
	for _, p := range w.Sysdig.Providers() {
		if p.ID == id {
			return true
		}
	}
	return false
}

func TestOrgUsageErrors(t *testing.T) {
	deps := Deps{OrgAWS: func(context.Context, string) (OrgClients, error) {
		return OrgClients{}, usagef("no AWS region: pass --region with the deployer stack's region (or set AWS_REGION)")
	}}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"org", "status"}, ExitUsage, "missing flags: --stack=NAME"},
		{[]string{"org", "status", "--stack", "s", "--format", "xml"}, ExitUsage, "--format must be one of"},
		{[]string{"org", "status", "--stack", "s"}, ExitUsage, "no AWS region"},
		{[]string{"org", "frobnicate"}, ExitUsage, "unexpected argument frobnicate"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tc.args, &stdout, &stderr, nil, deps)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
	if !timeoutGiven([]string{"--timeout", "5m", "org", "status"}) || timeoutGiven([]string{"org", "status", "--timeout", "1s"}) {
		t.Fatal("timeoutGiven")
	}
}
