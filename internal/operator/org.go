package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/smithy-go/logging"

	"sysdig-aws-connect/internal/orgreport"
	"sysdig-aws-connect/internal/registry"
)

// ExitNotAllOK is org status's exit code when the report was made but not every account
// is OK (1 stays "the command failed").
const ExitNotAllOK = 3

// orgTimeout is the org commands' time limit when --timeout is not given: a large
// organization's Sysdig reads are paced to the tenant's rate limit (10,000 providers at
// 4,096 requests a minute take about two and a half minutes).
const orgTimeout = 30 * time.Minute

// OrgCloudFormation is what the org commands call in CloudFormation.
type OrgCloudFormation interface {
	orgreport.DescribeStacksAPI
	orgreport.ListStackInstancesAPI
}

// OrgClients are the AWS clients of the org commands, in the deployer's region.
type OrgClients struct {
	CloudFormation OrgCloudFormation
	Organizations  orgreport.OrganizationsAPI
	DynamoDB       registry.DynamoDBAPI
}

// defaultOrgClients builds the clients from the standard AWS configuration; endpoints
// follow AWS_ENDPOINT_URL_CLOUDFORMATION, AWS_ENDPOINT_URL_ORGANIZATIONS and
// AWS_ENDPOINT_URL_DYNAMODB as the SDK reads them.
func defaultOrgClients(ctx context.Context, region string) (OrgClients, error) {
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return OrgClients{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return OrgClients{}, usagef("no AWS region: pass --region with the deployer stack's region (or set AWS_REGION)")
	}
	return OrgClients{CloudFormation: cloudformation.NewFromConfig(cfg), Organizations: organizations.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg)}, nil
}

// stderrIsTerminal reports whether the process's stderr is a terminal (progress lines go
// there only then).
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// orgCmd hands everything after "org" to a parser of its own: org status has --output
// FILE, which the global --output (text or json) would clash with.
type orgCmd struct {
	Args []string `arg:"" optional:"" passthrough:"" help:"status or reconcile, and their flags (see org --help)."`
}

type orgCLI struct {
	Status    orgStatusCmd    `cmd:"" help:"Every account of the target OUs: its stack instance, its registration and Sysdig's view, with a verdict and a fix. Exits 0 only when every account is OK (3 otherwise)."`
	Reconcile orgReconcileCmd `cmd:"" help:"Deregister the orphans this deployer created (dry run unless --apply) and print the StackSet commands for MISSING and FAILED accounts."`
}

// orgFlags are the flags both org commands take.
type orgFlags struct {
	Stack                 string `name:"stack" required:"" placeholder:"NAME" help:"The deployer (organization) stack: its name or id."`
	Region                string `name:"region" placeholder:"REGION" help:"The deployer stack's AWS region; default: the AWS configuration's (AWS_REGION)."`
	APIURL                string `name:"api-url" placeholder:"URL" help:"Sysdig API base URL instead of the one the stack uses."`
	TokenSecret           string `name:"token-secret" placeholder:"NAME_OR_ARN" help:"Secrets Manager secret holding a Sysdig API token you may read; without it the token comes from SYSDIG_MONITOR_API_TOKEN (the stack's own secret is readable by its function only)."`
	InsecureSkipTLSVerify bool   `name:"insecure-skip-tls-verify" help:"Do not verify the Sysdig API's TLS certificate (on-prem with a self-signed certificate only)."`
	Verbose               bool   `name:"verbose" short:"v" help:"Print each Sysdig request and each retry on stderr."`
}

type orgStatusCmd struct {
	orgFlags
	Format   string `name:"format" enum:"table,json,csv,html" default:"table" help:"table, json, csv (the same fields; docs/cli.md names them) or html (one self-contained page, sortable and filterable)."`
	Output   string `name:"output" short:"o" placeholder:"FILE" help:"Write the report to FILE instead of stdout; the summary line still goes to stdout."`
	NoSysdig bool   `name:"no-sysdig" help:"Do not read Sysdig: no token needed; Sysdig's status, drift and health are not checked."`
}

type orgReconcileCmd struct {
	orgFlags
	Apply bool `name:"apply" help:"Carry the actions out; without it, a dry run that only lists them."`
}

func (c *orgCmd) Run(a *app) error {
	var cli orgCLI
	parser, err := kong.New(&cli, kong.Name(Name+" org"),
		kong.Description("The organization's accounts: status and clean-up (docs/organizations.md)."),
		kong.Writers(a.stdout, a.stderr), kong.Exit(func(code int) { panic(exitSignal{code}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}))
	if err != nil {
		return err
	}
	args := c.Args
	if len(args) == 0 {
		args = []string{"--help"}
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return usagef("%s (see %s org --help)", oneLine(err.Error()), Name)
	}
	return kctx.Run(a)
}

// orgRun is one org command's reading of its sources.
type orgRun struct {
	a        *app
	st       orgreport.Stack
	clients  OrgClients
	store    *registry.Store
	org      *orgreport.OrgReader
	stackSet *orgreport.StackSetReader
}

// open reads the deployer stack and builds the readers; sysdigToo builds the Sysdig client
// (with the token) for the stack's URL.
func (f *orgFlags) open(a *app, sysdigToo bool) (*orgRun, error) {
	if f.APIURL != "" {
		a.g.APIURL = f.APIURL
	}
	if f.TokenSecret != "" {
		a.g.TokenSecret = f.TokenSecret
	}
	a.g.InsecureSkipTLSVerify = a.g.InsecureSkipTLSVerify || f.InsecureSkipTLSVerify
	if f.Verbose {
		a.logger = slog.New(&lineHandler{w: a.stderr, level: slog.LevelDebug, verbose: true, attempts: a.deps.Retry.orDefault().Attempts})
	}
	if a.deps.OrgAWS == nil {
		return nil, errors.New("no AWS clients configured for the org commands") //msg:internal a programming error
	}
	clients, err := a.deps.OrgAWS(a.awsCtx(), f.Region)
	if err != nil {
		return nil, err
	}
	st, err := orgreport.ReadStack(a.awsCtx(), clients.CloudFormation, f.Stack)
	if err != nil {
		return nil, &hintError{err: errors.New(awsErrorText(err)),
			hint: "check --stack (the deployer stack's name), --region (its region) and your AWS credentials (cloudformation:DescribeStacks)"}
	}
	if st.SysdigURL == "" {
		if st.SysdigURL, err = RegionURL(st.SysdigRegion); err != nil {
			return nil, fmt.Errorf("the stack's SysdigRegion %q is not a Sysdig region this version knows: pass --api-url", clean(st.SysdigRegion, 40))
		}
	}
	if a.g.APIURL == "" && a.g.SysdigRegion == "" {
		a.g.APIURL = st.SysdigURL
	}
	r := &orgRun{a: a, st: st, clients: clients, store: registry.New(clients.DynamoDB, st.RegistryTable),
		org: &orgreport.OrgReader{API: clients.Organizations}, stackSet: &orgreport.StackSetReader{API: clients.CloudFormation}}
	if sysdigToo {
		if _, err := a.sysdig(); err != nil {
			var ue *usageError
			if errors.As(err, &ue) && strings.Contains(ue.msg, "no Sysdig API token") {
				return nil, usagef("no Sysdig API token: the stack's token secret is readable by its function only; set %s to a Sysdig Monitor API token (or pass --token-secret with a secret you may read); org status --no-sysdig needs none", TokenEnv)
			}
			return nil, err
		}
	}
	return r, nil
}

// build makes the report; a progress line goes to stderr on a terminal only.
func (r *orgRun) build(withSysdig bool) (*orgreport.Report, error) {
	src := orgreport.Sources{Stack: r.st, Org: r.org, Instances: r.stackSet, Registry: r.store}
	if withSysdig {
		src.Sysdig = r.a.client
	}
	opts := orgreport.Options{SysdigURL: r.a.baseURL}
	if r.a.deps.Terminal != nil && r.a.deps.Terminal() {
		opts.Progress = func(done, total int) {
			if done == total || done%25 == 0 {
				fmt.Fprintf(r.a.stderr, "\rreading Sysdig: %d of %d providers", done, total)
			}
			if done == total {
				fmt.Fprint(r.a.stderr, "\r\033[K")
			}
		}
	}
	return orgreport.Build(r.a.ctx, src, opts)
}

func (c *orgStatusCmd) Run(a *app) error {
	r, err := c.open(a, !c.NoSysdig)
	if err != nil {
		return err
	}
	rep, err := r.build(!c.NoSysdig)
	if err != nil {
		return err
	}
	out, summaryTo := a.stdout, a.stdout
	var file *os.File
	if c.Output != "" {
		if file, err = os.Create(c.Output); err != nil {
			return usagef("--output: %v", err)
		}
		out = &redactingWriter{w: file, r: a.red}
	} else if c.Format != orgreport.FormatTable {
		summaryTo = a.stderr // stdout carries the document alone
	}
	if err := writeReport(out, c.Format, rep); err != nil {
		if file != nil {
			_ = file.Close()
		}
		return fmt.Errorf("write the report: %w", err)
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return fmt.Errorf("write the report to %s: %w", c.Output, err)
		}
		fmt.Fprintf(summaryTo, "Wrote %s (%s).\n", c.Output, c.Format)
	}
	if c.Output != "" || c.Format != orgreport.FormatTable {
		fmt.Fprintln(summaryTo, orgreport.Summary(rep))
	}
	if !rep.AllOK() {
		return &exitCodeError{code: ExitNotAllOK}
	}
	return nil
}

// writeReport writes the report in one format.
func writeReport(w io.Writer, format string, rep *orgreport.Report) error {
	switch format {
	case orgreport.FormatJSON:
		return orgreport.WriteJSON(w, rep)
	case orgreport.FormatCSV:
		return orgreport.WriteCSV(w, rep)
	case orgreport.FormatHTML:
		return orgreport.WriteHTML(w, rep)
	}
	return orgreport.WriteTable(w, rep)
}

// exitCodeError ends the command with a code and no further message (the output said it).
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func (c *orgReconcileCmd) Run(a *app) error {
	r, err := c.open(a, true)
	if err != nil {
		return err
	}
	rep, err := r.build(true)
	if err != nil {
		return err
	}
	// Every action is logged as one JSON line on stderr, with account and provider id.
	logger := slog.New(slog.NewJSONHandler(a.stderr, nil)).With(slog.String("stack", r.st.Name))
	actions, err := orgreport.Reconcile(a.ctx, rep, orgreport.ReconcileOptions{Apply: c.Apply, Sysdig: a.client, Registry: r.store, Logger: logger,
		SysdigURL: a.baseURL})
	if a.json() {
		if jerr := a.writeJSON(actions); jerr != nil {
			return jerr
		}
		return err
	}
	if werr := writeActions(a.stdout, actions, c.Apply, c.applyCommand()); werr != nil {
		return werr
	}
	return err
}

// applyCommand is the dry run's suggestion: this command again with --apply, repeating the
// flags in use so that it runs as printed (the region above all).
func (c *orgReconcileCmd) applyCommand() string {
	cmd := Name + " org reconcile --stack " + shellQuote(c.Stack)
	for _, f := range []struct{ name, value string }{{"--region", c.Region}, {"--api-url", c.APIURL}, {"--token-secret", c.TokenSecret}} {
		if f.value != "" {
			cmd += " " + f.name + " " + shellQuote(f.value)
		}
	}
	if c.InsecureSkipTLSVerify {
		cmd += " --insecure-skip-tls-verify"
	}
	return cmd + " --apply"
}

// writeActions prints what reconcile did or would do, one line each, then the commands;
// applyCmd is the command that carries out a dry run.
func writeActions(w io.Writer, actions []orgreport.Action, apply bool, applyCmd string) error {
	acts, cmds := 0, 0
	for _, x := range actions {
		switch x.Kind {
		case orgreport.ActionDeregister, orgreport.ActionMarkOnly:
			acts++
			verb := map[bool]string{true: "deregistered provider %s of account %s and marked its record removed", false: "would deregister provider %s of account %s and mark its record removed"}[apply]
			if x.Kind == orgreport.ActionMarkOnly {
				verb = map[bool]string{true: "marked the record of provider %s of account %s removed (already gone from Sysdig)", false: "would mark the record of provider %s of account %s removed (already gone from Sysdig)"}[apply]
			}
			if x.Error != "" {
				verb = "FAILED to remove provider %s of account %s: " + clean(x.Error, 400)
			}
			fmt.Fprintf(w, verb+"\n", x.ProviderID, x.Account)
			fmt.Fprintf(w, "  why: %s\n", clean(x.Detail, 400))
		case orgreport.ActionSkip:
			fmt.Fprintf(w, "left alone: provider %s of account %s: %s\n", x.ProviderID, x.Account, clean(x.Detail, 400))
			if x.Command != "" {
				fmt.Fprintf(w, "  to remove it by hand: %s\n", clean(x.Command, 1000))
			}
		}
	}
	for _, x := range actions {
		if x.Kind == orgreport.ActionCommand && x.Command != "" {
			if cmds == 0 {
				fmt.Fprintln(w, "\nStackSet commands to run yourself (reconcile never runs them):")
			}
			cmds++
			fmt.Fprintf(w, "  %s %s: %s\n    %s\n", x.Verdict, x.Account, clean(x.Detail, 300), clean(x.Command, 1000))
		}
	}
	switch {
	case acts == 0:
		_, err := fmt.Fprintln(w, "\nNothing to deregister: no orphan this deployer created.")
		return err
	case !apply:
		_, err := fmt.Fprintf(w, "\nDry run: %d registration(s) would be removed. To carry it out: %s\n", acts, clean(applyCmd, 1000))
		return err
	}
	return nil
}
