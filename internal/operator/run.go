package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/version"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Name is the program name used in help and messages.
const Name = "sysdig-connect"

// maxTimeout caps --timeout so a typo cannot make a command hang for days.
const maxTimeout = time.Hour

// globals are the flags every command accepts.
type globals struct {
	SysdigRegion          string           `name:"sysdig-region" placeholder:"REGION" xor:"endpoint" help:"Sysdig SaaS region: ${regions} (or SYSDIG_REGION)."`
	APIURL                string           `name:"api-url" placeholder:"URL" xor:"endpoint" help:"Sysdig API base URL instead of a region (on-prem): https://host[/path]; plain http only on loopback (or SYSDIG_MONITOR_URL)."`
	TokenSecret           string           `name:"token-secret" placeholder:"NAME_OR_ARN" help:"Secrets Manager secret holding the Sysdig API token (the raw token or {\"token\":\"...\"}). Without it the token comes from the SYSDIG_MONITOR_API_TOKEN (or SYSDIG_API_TOKEN) environment variable."`
	ProviderAPI           string           `name:"provider-api" enum:"v1,v2" default:"v1" help:"Sysdig providers API: v1 (/api/providers, Sysdig's role-delegation guide) or v2 (/api/v2/providers)."`
	InsecureSkipTLSVerify bool             `name:"insecure-skip-tls-verify" help:"Do not verify the Sysdig API's TLS certificate (on-prem with a self-signed certificate only)."`
	Timeout               time.Duration    `name:"timeout" default:"60s" help:"Time limit for the whole command, retries included."`
	Output                string           `name:"output" short:"o" enum:"text,json" default:"text" help:"Output format: text or json."`
	Verbose               bool             `name:"verbose" short:"v" help:"Print each Sysdig request and each retry's details on stderr."`
	Version               kong.VersionFlag `name:"version" help:"Print the version and exit."`
}

// roleFlags name the role the CloudFormation stack creates in the caller's account.
type roleFlags struct {
	RoleName string `name:"role-name" default:"sysdig-role" help:"Name of the IAM role the stack creates."`
	RolePath string `name:"role-path" default:"/" help:"Path of the IAM role the stack creates (/ or /a/b/)."`
}

type cli struct {
	globals

	Whoami     whoamiCmd     `cmd:"" help:"Show the AWS caller (account, ARN, partition) and the ARN of the role the stack creates."`
	ExternalID externalIDCmd `cmd:"" name:"external-id" help:"Show the tenant's external ID (and Sysdig's AWS account id where the tenant reports it)."`
	Providers  struct {
		List providersListCmd `cmd:"" help:"List the AWS providers registered at Sysdig."`
		Get  providersGetCmd  `cmd:"" help:"Show one AWS provider."`
	} `cmd:"" help:"Inspect the AWS providers registered at Sysdig."`
	Register   registerCmd   `cmd:"" help:"Register an IAM role with Sysdig (\"Add the AWS Account\" in Sysdig's role delegation guide)."`
	Deregister deregisterCmd `cmd:"" help:"Remove an AWS provider from Sysdig."`
	Check      checkCmd      `cmd:"" help:"Verify the set-up step by step; exits non-zero when a step fails."`
	Onprem     onpremCmd     `cmd:"" name:"onprem" help:"On-prem Sysdig: the backend's AWS key as a Kubernetes Secret, and its rotation."`
	Org        orgCmd        `cmd:"" name:"org" passthrough:"" help:"The organization (deployer stack): org status shows every account's verdict; org reconcile removes the orphans the deployer created."`
	VersionCmd versionCmd    `cmd:"" name:"version" help:"Show the version, the module version and the source revision."`
	Help       helpCmd       `cmd:"" help:"Show the help of a command: help [command]."`
}

// exitSignal carries kong's exit request (after --help) out of the parser.
type exitSignal struct{ code int }

// usageError is a mistake in the command line or configuration (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// reportedError is a failure whose details the command already printed.
type reportedError struct{ msg string }

func (e *reportedError) Error() string { return e.msg }

// Run executes one command line (args without the program name) and returns
// the process exit code. Output goes to stdout, messages and warnings to
// stderr; env reads environment variables (os.Getenv in the program).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string, deps Deps) (code int) {
	if env == nil {
		env = func(string) string { return "" }
	}
	red := &redactor{}
	stdout = &redactingWriter{w: stdout, r: red}
	stderr = &redactingWriter{w: stderr, r: red}
	for _, name := range []string{TokenEnv, LegacyTokenEnv} {
		if t := strings.TrimSpace(env(name)); t != "" {
			red.add(t)
		}
	}

	var c cli
	parser, err := kong.New(&c,
		kong.Name(Name),
		kong.Description("Operate the AWS-to-Sysdig Monitor role-delegation integration: inspect, verify, and register or remove AWS providers by hand."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitSignal{code}) }),
		kong.Vars{"regions": strings.Join(regionNames(), ", "), "version": Name + " " + version.Info().String()},
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "%s: internal error: %v\n", Name, err)
		return ExitFailure
	}
	defer func() {
		if r := recover(); r != nil {
			sig, ok := r.(exitSignal)
			if !ok {
				panic(r)
			}
			code = sig.code
			if code != ExitOK {
				code = ExitUsage
			}
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", Name, oneLine(err.Error()), Name)
		return ExitUsage
	}
	if strings.HasPrefix(kctx.Command(), "org") && !timeoutGiven(args) {
		c.Timeout = orgTimeout
	}
	if c.Timeout <= 0 || c.Timeout > maxTimeout {
		fmt.Fprintf(stderr, "%s: --timeout %s is out of range: give a positive duration up to %s, such as 60s\n", Name, c.Timeout, maxTimeout)
		return ExitUsage
	}
	base, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	// ctx is cancelled early, with the reason, when Sysdig's host cannot be reached at all.
	ctx, abort := context.WithCancelCause(base)
	defer abort(nil)

	a := &app{
		ctx:    ctx,
		base:   base,
		abort:  abort,
		parser: parser,
		g:      &c.globals,
		stdout: stdout,
		stderr: stderr,
		env:    env,
		deps:   deps,
		red:    red,
	}
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelDebug
	}
	a.logger = slog.New(&lineHandler{w: stderr, level: level, verbose: c.Verbose, attempts: deps.Retry.orDefault().Attempts})
	err = kctx.Run(a)
	if err == nil {
		return ExitOK
	}
	if ue := a.unreachable(); ue != nil {
		var re *reportedError
		if !errors.As(err, &re) {
			fmt.Fprintf(stderr, "%s: %s\n", Name, oneLine(a.explainUnreachable(ue)))
			return ExitFailure
		}
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "%s: %s\n", Name, oneLine(ue.msg))
		return ExitUsage
	}
	fmt.Fprintf(stderr, "%s: %s\n", Name, oneLine(a.explain(err)))
	return ExitFailure
}

// timeoutGiven reports whether the command line sets --timeout (before a command's own
// arguments: the org commands' are passed through).
func timeoutGiven(args []string) bool {
	for _, a := range args {
		if a == "--timeout" || strings.HasPrefix(a, "--timeout=") {
			return true
		}
		if a == "--" || a == "org" {
			return false
		}
	}
	return false
}

// app is what commands share: flags, I/O, dependencies and the lazily built clients.
type app struct {
	ctx    context.Context
	base   context.Context         // the command's deadline only (see awsCtx)
	abort  context.CancelCauseFunc // stops ctx with a reason
	parser *kong.Kong              // for help [command]
	g      *globals
	stdout io.Writer
	stderr io.Writer
	env    func(string) string
	deps   Deps
	red    *redactor
	logger *slog.Logger

	client  *sysdig.Client
	baseURL string
	tok     string // the Sysdig API token once read; never written anywhere
	tokSrc  string

	endpointFrom string // the flag or variable that named the endpoint
	regionName   string // the Sysdig region, when one named it
}

func (a *app) json() bool { return a.g.Output == "json" }

func (a *app) apiVersion() sysdig.APIVersion {
	v, err := sysdig.ParseAPIVersion(a.g.ProviderAPI)
	if err != nil { // kong's enum already checked it
		return sysdig.V1
	}
	return v
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
