package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sysdig-aws-connect/internal/operator"
	"sysdig-aws-connect/internal/orgreport"
	"sysdig-aws-connect/internal/orgsim"
)

// OrgConfig is the organization demo's.
type OrgConfig struct {
	Out    io.Writer // the story
	OutDir string    // where org-status.json and org-status.html are written (default "out")
}

// RunOrg plays `make demo-org`: an organization of 20 accounts in which every verdict
// occurs (one account closed after its registration, one failed instance, one unhealthy
// provider, one account of a target OU without an instance, one operation running, one
// provider renamed by hand, one answer without a status); it prints `org status`, writes
// the JSON report, runs `org reconcile` (dry run, then --apply) and shows the status
// again with the orphan gone.
func RunOrg(ctx context.Context, cfg OrgConfig) error {
	p := printer{w: cfg.Out}
	outDir := cfg.OutDir
	if outDir == "" {
		outDir = "out"
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", outDir, err)
	}
	p.title("sysdig-aws-connect: is every account of the organization connected? (local, no AWS or Sysdig account)")
	w, err := orgsim.Start(ctx, orgsim.Options{RatePerMinute: 600})
	if err != nil {
		return err
	}
	defer w.Close()
	sc, err := w.PlayScenario(ctx)
	if err != nil {
		return err
	}
	p.kv("deployer stack", orgsim.StackName+" ("+orgsim.Region+", management account "+orgsim.Management+")")
	p.kv("StackSet", orgsim.StackSet+", target OU "+w.Target+" (Workloads: Prod and Dev)")
	p.kv("Sysdig", w.SysdigURL+" (emulator, 600 requests/minute)")
	p.kv("closed", sc.Closed+" was closed after its registration")
	p.kv("failed", sc.Failed+"'s stack instance failed")
	p.kv("unhealthy", sc.Unhealthy+": Sysdig cannot assume its role")
	p.kv("no instance", sc.NoInstance+" sits in the target OU with no stack instance")
	p.kv("running", sc.Pending+": a StackSet operation is under way")
	p.kv("drifted", sc.Drifted+": its provider was renamed in Sysdig by hand")
	p.kv("no status", sc.NoStatus+": Sysdig's answer has no status")

	cli := orgCLI(ctx, w)
	status := []string{"org", "status", "--stack", orgsim.StackName, "--region", orgsim.Region}
	p.step(1, 5, "sysdig-connect "+strings.Join(status, " "), nil)
	code, out, errOut := cli(status...)
	p.line(indent(out))
	p.line(fmt.Sprintf("  (exit status %d: not every account is OK)", code))
	if code != operator.ExitNotAllOK {
		return fmt.Errorf("org status: exit %d: %s", code, errOut)
	}

	jsonFile, htmlFile := filepath.Join(outDir, "org-status.json"), filepath.Join(outDir, "org-status.html")
	p.step(2, 5, "the same report as JSON ("+jsonFile+") and as a page ("+htmlFile+")", nil)
	code, out, errOut = cli(append(status, "--format", "json", "--output", jsonFile)...)
	if code != operator.ExitNotAllOK {
		return fmt.Errorf("org status --format json: exit %d: %s", code, errOut)
	}
	p.line(indent(out))
	code, out, errOut = cli(append(status, "--format", "html", "--output", htmlFile)...)
	if code != operator.ExitNotAllOK {
		return fmt.Errorf("org status --format html: exit %d: %s", code, errOut)
	}
	p.line(indent(out))
	p.line("  (open " + htmlFile + " in a browser: the counts per verdict, the table sortable and filterable by verdict and OU)")

	reconcile := []string{"org", "reconcile", "--stack", orgsim.StackName, "--region", orgsim.Region}
	p.step(3, 5, "sysdig-connect "+strings.Join(reconcile, " ")+"   (a dry run)", nil)
	code, out, errOut = cli(reconcile...)
	if code != operator.ExitOK {
		return fmt.Errorf("org reconcile: exit %d: %s", code, errOut)
	}
	p.line(indent(out))

	before := len(w.Sysdig.Providers())
	p.step(4, 5, "sysdig-connect "+strings.Join(reconcile, " ")+" --apply", nil)
	code, out, errOut = cli(append(reconcile, "--apply")...)
	if code != operator.ExitOK {
		return fmt.Errorf("org reconcile --apply: exit %d: %s", code, errOut)
	}
	p.line(indent(out))
	p.line("  the log (stderr), one JSON line per action:")
	p.line(indent(errOut))

	p.step(5, 5, "sysdig-connect "+strings.Join(status, " ")+"   (again)", nil)
	code, out, errOut = cli(append(status, "--format", "json")...)
	var rep orgreport.Report
	if code != operator.ExitNotAllOK || json.Unmarshal([]byte(out), &rep) != nil {
		return fmt.Errorf("org status after reconcile: exit %d: %s", code, errOut)
	}
	_, table, _ := cli(status...)
	p.line(indent(table))
	if rep.Counts[orgreport.VerdictOrphan] != 0 {
		return fmt.Errorf("after reconcile --apply the report still counts %d orphans", rep.Counts[orgreport.VerdictOrphan])
	}
	if after := len(w.Sysdig.Providers()); after != before-1 {
		return fmt.Errorf("reconcile --apply removed %d providers, want exactly the orphan", before-after)
	}
	for _, prov := range w.Sysdig.Providers() {
		if prov.ID == sc.ClosedProvider {
			return fmt.Errorf("provider %s of the closed account is still at Sysdig", prov.ID)
		}
	}
	p.line("The orphan is gone: provider " + sc.ClosedProvider + " of closed account " + sc.Closed + " was deregistered and its record marked removed;")
	p.line("the other verdicts are left for the fixes printed above (reconcile never runs StackSet commands).")
	return nil
}

// orgCLI runs sysdig-connect in-process against the local organization.
func orgCLI(ctx context.Context, w *orgsim.World) func(args ...string) (int, string, string) {
	deps := operator.Deps{
		OrgAWS: func(context.Context, string) (operator.OrgClients, error) {
			return operator.OrgClients{CloudFormation: w.CloudFormation(), Organizations: w.Organizations(), DynamoDB: w.Dynamo.Client()}, nil
		},
		Terminal: func() bool { return false },
		Retry:    operator.RetryPolicy{Initial: 100 * time.Millisecond, Max: time.Second, Attempts: 3},
	}
	return func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := operator.Run(ctx, args, &stdout, &stderr, func(k string) string {
			if k == operator.TokenEnv {
				return orgsim.Token
			}
			return ""
		}, deps)
		return code, stdout.String(), stderr.String()
	}
}
