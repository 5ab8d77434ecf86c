package operator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"time"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/version"
)

// Environment variables, named as in Sysdig's Terraform provider. Flags win over them.
const (
	// TokenEnv holds the Sysdig Monitor API token when --token-secret is not given.
	TokenEnv = "SYSDIG_MONITOR_API_TOKEN"
	// LegacyTokenEnv is the name earlier releases read; still honoured after TokenEnv.
	LegacyTokenEnv = "SYSDIG_API_TOKEN"
	// URLEnv is the Sysdig API base URL, like --api-url.
	URLEnv = "SYSDIG_MONITOR_URL"
	// RegionEnv is a Sysdig SaaS region, like --sysdig-region.
	RegionEnv = "SYSDIG_REGION"
)

// RetryPolicy is how the CLI retries Sysdig calls that may succeed later (5xx, 429,
// dropped connections). A host that does not resolve or refuses connections is never retried.
type RetryPolicy struct {
	Initial, Max time.Duration // the first and the longest wait
	Attempts     int           // attempts in all, including the first
}

// defaultRetry keeps a command that meets a struggling Sysdig within a few seconds.
var defaultRetry = RetryPolicy{Initial: 500 * time.Millisecond, Max: 4 * time.Second, Attempts: 5}

func (p RetryPolicy) orDefault() RetryPolicy {
	if p.Attempts <= 0 || p.Initial <= 0 || p.Max < p.Initial {
		return defaultRetry
	}
	return p
}

// unreachableError is a Sysdig host that does not resolve or refuses connections:
// retrying would not help, so the command stops at once.
type unreachableError struct {
	addr string
	err  error
}

func (e *unreachableError) Error() string { return fmt.Sprintf("cannot reach %s: %v", e.addr, e.err) }
func (e *unreachableError) Unwrap() error { return e.err }

// fatalDial reports whether a dial error cannot get better by retrying.
func fatalDial(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && (dnsErr.IsNotFound || !dnsErr.IsTemporary && !dnsErr.IsTimeout) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// sysdigHTTPClient is the Sysdig client's transport for the CLI: the default transport,
// no redirects (one could send the token elsewhere), and a dialer that stops the whole
// command when the host does not resolve or refuses the connection (by cancelling a.ctx
// with the cause), instead of letting the client retry it.
func (a *app) sysdigHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil && fatalDial(err) && a.abort != nil {
			a.abort(&unreachableError{addr: addr, err: err})
		}
		return conn, err
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("Sysdig redirected to %s: give the final address with --api-url", req.URL.Redacted())
		},
	}
}

// unreachable is the reason the command was stopped early, if it was.
func (a *app) unreachable() *unreachableError {
	var ue *unreachableError
	if errors.As(context.Cause(a.ctx), &ue) {
		return ue
	}
	return nil
}

// explainUnreachable renders an unreachable Sysdig with the flag to check.
func (a *app) explainUnreachable(ue *unreachableError) string {
	what := "check --sysdig-region or --api-url"
	switch a.endpointFrom {
	case "--api-url", URLEnv:
		what = "check " + a.endpointFrom + " (" + a.baseURL + ")"
	case "--sysdig-region", RegionEnv:
		what = "check " + a.endpointFrom + " and the network path to " + a.baseURL
	}
	msg := "the Sysdig API is not reachable: " + ue.Error() + ": " + what
	if errors.Is(ue.err, syscall.ECONNREFUSED) {
		msg += ", and that the server is running"
	}
	return msg
}

// awsCtx is the context for AWS calls: the command's deadline, but not stopped by an
// unreachable Sysdig, so that check still reports the AWS steps.
func (a *app) awsCtx() context.Context {
	if a.base != nil {
		return a.base
	}
	return a.ctx
}

// suggest is a complete command line the user can paste: the program, the endpoint,
// token and API flags in use, then args.
func (a *app) suggest(args ...string) string {
	api := a.g.ProviderAPI
	if api == "v1" {
		api = "" // the default
	}
	return a.suggestAPI(api, args...)
}

// suggestAPI is suggest with --provider-api api (none when api is empty) instead of the
// version in use.
func (a *app) suggestAPI(api string, args ...string) string {
	parts := []string{Name}
	switch {
	case a.endpointFrom == "--sysdig-region" || a.endpointFrom == RegionEnv:
		parts = append(parts, "--sysdig-region", strings.ToLower(strings.TrimSpace(a.regionName)))
	case a.baseURL != "":
		parts = append(parts, "--api-url", a.baseURL)
	}
	if s := strings.TrimSpace(a.g.TokenSecret); s != "" {
		parts = append(parts, "--token-secret", s)
	}
	if api != "" {
		parts = append(parts, "--provider-api", api)
	}
	if a.g.InsecureSkipTLSVerify {
		parts = append(parts, "--insecure-skip-tls-verify")
	}
	parts = append(parts, args...)
	for i, p := range parts {
		parts[i] = shellQuote(p)
	}
	return strings.Join(parts, " ")
}

var placeholder = regexp.MustCompile(`^<[a-z-]+>$`)

// shellQuote quotes s for a POSIX shell when it holds anything but safe characters.
// A placeholder such as <id> is left as it is, for the user to replace.
func shellQuote(s string) string {
	if placeholder.MatchString(s) {
		return s
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// retryLine turns the Sysdig client's "retrying" log record into one short line
// ("retrying (2/5): GET /api/providers: 503"); "" for records that are not retries.
func retryLine(msg string, attrs map[string]string, total int) string {
	if !strings.Contains(msg, "retrying") {
		return ""
	}
	what := strings.TrimSpace(attrs["method"] + " " + attrs["path"])
	if attrs["reason"] == "Retry-After" {
		return fmt.Sprintf("Sysdig is throttling (%s); waiting %s, then retrying %s", attrs["status"], attrs["wait"], what)
	}
	next := 0
	fmt.Sscan(attrs["attempt"], &next)
	next++
	why := attrs["status"]
	if why == "" || why == "0" {
		why = shortError(attrs["error"])
	} else if t := http.StatusText(atoi(why)); t != "" {
		why += " " + t
	}
	return fmt.Sprintf("retrying (%d/%d): %s: %s", next, total, what, why)
}

// shortError keeps the part of a transport error a person needs ("connection reset by peer").
func shortError(s string) string {
	for _, known := range []string{"connection reset by peer", "EOF", "timeout", "no answer within", "broken pipe", "TLS handshake"} {
		if strings.Contains(s, known) {
			return known
		}
	}
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

// ---- version and help ----

type versionCmd struct{}

func (c *versionCmd) Run(a *app) error {
	b := version.Info()
	if a.json() {
		return a.writeJSON(b)
	}
	_, err := fmt.Fprintf(a.stdout, "%s %s\n", Name, b)
	return err
}

type helpCmd struct {
	Command []string `arg:"" optional:"" help:"The command to explain, such as: providers list."`
}

// Run prints the help of the named command (kong's own --help output) and exits 0.
func (c *helpCmd) Run(a *app) error {
	if a.parser == nil {
		//msg:internal kong always provides help
		return errors.New("help is not available")
	}
	if _, err := a.parser.Parse(append(append([]string{}, c.Command...), "--help")); err != nil {
		return usagef("help %s: %s: run %s help to list the commands", strings.Join(c.Command, " "), oneLine(err.Error()), Name)
	}
	return nil
}

// clientOptions are the CLI's Sysdig client settings, before the caller's own.
func (a *app) clientOptions() []sysdig.Option {
	p := a.deps.Retry.orDefault()
	return []sysdig.Option{
		sysdig.WithLogger(a.logger), sysdig.WithUserAgent(Name + "/" + version.Version()),
		sysdig.WithRetry(p.Initial, p.Max, p.Attempts),
		sysdig.WithHTTPClient(a.sysdigHTTPClient()),
	}
}
