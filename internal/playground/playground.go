// Package playground is `make playground`: the Sysdig API emulator, a local Secrets
// Manager holding the emulator's token, and STS and IAM stand-ins (IAM holding the role a
// stack would have created), all on 127.0.0.1, with the
// `export` lines that point sysdig-connect (and the AWS CLI) at them. Everything the CLI
// does can then be tried by hand without an AWS or a Sysdig account.
package playground

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/permissions"
	"sysdig-aws-connect/internal/sysdigemu"
)

// Identity of the playground's AWS caller.
const (
	Region     = "us-east-1"
	AccountID  = "123456789012"
	CallerARN  = "arn:aws:sts::123456789012:assumed-role/Admin/playground"
	SecretName = "sysdig/api-token"
	// RoleName is the role the IAM stand-in holds, trusting Sysdig's account with the
	// tenant's external ID as the stack would, so that `check` passes its trust steps.
	RoleName = "sysdig-role"
)

// Config says where to listen; zero ports pick free ones.
type Config struct {
	SysdigPort, SecretsManagerPort, STSPort, IAMPort int
	// Log, when set, receives the services' JSON request logs.
	Log io.Writer
}

// Env is a running playground.
type Env struct {
	SysdigURL, SecretsManagerURL, STSURL, IAMURL string
	Token                                        string // the emulator's token, also in SecretName
	SecretARN                                    string
	Sysdig                                       *sysdigemu.Server

	stops []func() error
}

// Start brings the services up on loopback.
func Start(cfg Config) (env *Env, err error) {
	env = &Env{}
	defer func() {
		if err != nil {
			_ = env.Close()
		}
	}()
	logger := slog.New(slog.DiscardHandler)
	if cfg.Log != nil {
		logger = slog.New(slog.NewJSONHandler(cfg.Log, nil))
	}
	env.Token, err = newToken()
	if err != nil {
		return env, err
	}

	env.Sysdig = sysdigemu.New(sysdigemu.WithToken(env.Token), sysdigemu.WithLogger(logger.With("service", "sysdig")))
	url, stop, err := env.Sysdig.StartOn(addr(cfg.SysdigPort))
	if err != nil {
		return env, err
	}
	env.SysdigURL = url
	env.stops = append(env.stops, func() error { stop(); return nil })

	sm := localaws.NewSecretsManager(Region, AccountID)
	sm.SetLogger(logger.With("service", "secretsmanager"))
	env.SecretARN = sm.PutSecret(SecretName, env.Token)
	if env.SecretsManagerURL, err = env.listen(cfg.SecretsManagerPort, sm); err != nil {
		return env, err
	}
	if env.STSURL, err = env.listen(cfg.STSPort, localaws.NewSTS(AccountID, CallerARN)); err != nil {
		return env, err
	}
	iam := localaws.NewIAM(AccountID)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},`+
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"%s"}}}]}`,
		sysdigemu.DefaultSysdigAWSAccountID, sysdigemu.DefaultExternalID)
	if _, err = iam.CreateRole(RoleName, "/", trust); err != nil {
		return env, err
	}
	// The policy and tag the stack gives the role, so that check finds the current permissions.
	cw, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": permissions.Names(permissions.Current(permissions.CloudWatchPolicy)), "Resource": "*"}}})
	if err = iam.PutRolePolicy(RoleName, permissions.CloudWatchPolicy, string(cw)); err != nil {
		return env, err
	}
	if err = iam.TagRole(RoleName, localaws.IAMTag{Key: permissions.TagKey, Value: permissions.VersionString()}); err != nil {
		return env, err
	}
	if env.IAMURL, err = env.listen(cfg.IAMPort, iam); err != nil {
		return env, err
	}
	return env, nil
}

func (e *Env) listen(port int, h http.Handler) (string, error) {
	url, stop, err := localaws.Listen(addr(port), h)
	if err != nil {
		return "", err
	}
	e.stops = append(e.stops, stop)
	return url, nil
}

// Close stops every service.
func (e *Env) Close() error {
	var errs []string
	for i := len(e.stops) - 1; i >= 0; i-- {
		if err := e.stops[i](); err != nil {
			errs = append(errs, err.Error())
		}
	}
	e.stops = nil
	if len(errs) > 0 {
		return fmt.Errorf("playground: stop: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Exports are the environment variables that point sysdig-connect and the AWS SDK
// (or the AWS CLI) at the playground, in the order they are printed.
func (e *Env) Exports() [][2]string {
	return [][2]string{
		{"SYSDIG_MONITOR_URL", e.SysdigURL},
		{"SYSDIG_MONITOR_API_TOKEN", e.Token},
		{"AWS_ENDPOINT_URL_STS", e.STSURL},
		{"AWS_ENDPOINT_URL_IAM", e.IAMURL},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", e.SecretsManagerURL},
		{"AWS_REGION", Region},
		// The stand-ins do not check signatures, but the SDK wants credentials to sign with.
		{"AWS_ACCESS_KEY_ID", "playground"},
		{"AWS_SECRET_ACCESS_KEY", "playground"},
	}
}

// Unset are variables that would point elsewhere or conflict with the exports.
var Unset = []string{"SYSDIG_REGION", "SYSDIG_API_TOKEN", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"}

// WriteInstructions prints the export lines and what to try, ready to paste.
func (e *Env) WriteInstructions(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# sysdig-connect playground: a Sysdig API emulator, Secrets Manager, STS and IAM on 127.0.0.1.\n")
	b.WriteString("# Paste these lines into another shell (they stay valid until you stop this one with Ctrl-C):\n")
	b.WriteString("unset " + strings.Join(Unset, " ") + "\n")
	for _, kv := range e.Exports() {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	fmt.Fprintf(&b, `# Then build the CLI (make cli puts it in dist/) and try:
#   sysdig-connect whoami                 # you are %s
#   sysdig-connect external-id
#   sysdig-connect check                  # fails at "Role registered" until you register
#   sysdig-connect register --regions us-east-1,eu-west-1
#   sysdig-connect providers list
#   sysdig-connect --token-secret %s providers list   # the token from Secrets Manager
#   sysdig-connect deregister 1 --role-arn arn:aws:iam::%s:role/sysdig-role
`, strings.TrimPrefix(CallerARN, "arn:aws:sts::"), SecretName, AccountID)
	_, err := io.WriteString(w, b.String())
	return err
}

// Run starts the playground, prints the instructions on out and serves until ctx ends.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	env, err := Start(cfg)
	if err != nil {
		return err
	}
	if err := env.WriteInstructions(out); err != nil {
		_ = env.Close()
		return err
	}
	<-ctx.Done()
	return env.Close()
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("playground: token: %w", err)
	}
	h := hex.EncodeToString(b)
	// Shaped like a Sysdig token (a UUID), so the CLI's redaction treats it as one.
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// shellQuote quotes s for a POSIX shell when needed.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
