package operator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/tokensource"
)

// sysdigRegions maps Sysdig SaaS regions to their API base URLs (sysdig-api.md,
// "Hosts": Sysdig's Terraform provider and helm charts).
var sysdigRegions = map[string]string{
	"us1": "https://app.sysdigcloud.com",
	"us2": "https://us2.app.sysdig.com",
	"us3": "https://app.us3.sysdig.com",
	"us4": "https://app.us4.sysdig.com",
	"eu1": "https://eu1.app.sysdig.com",
	"eu2": "https://app.eu2.sysdig.com",
	"au1": "https://app.au1.sysdig.com",
	"in1": "https://app.in1.sysdig.com",
	"me2": "https://app.me2.sysdig.com",
	"jp1": "https://app.jp1.sysdig.com",
}

// DefaultSysdigAWSAccountID is Sysdig's AWS account for SaaS us1 (Sysdig's
// role-delegation guide); other regions use other accounts.
const DefaultSysdigAWSAccountID = "273107874544"

func regionNames() []string {
	names := make([]string, 0, len(sysdigRegions))
	for n := range sysdigRegions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// RegionURL returns the API base URL of a Sysdig SaaS region (us1, eu1, …).
func RegionURL(region string) (string, error) {
	u, ok := sysdigRegions[strings.ToLower(strings.TrimSpace(region))]
	if !ok {
		return "", usagef("--sysdig-region %q is not a Sysdig region: use one of %s, or --api-url for on-prem", clean(region, 40), strings.Join(regionNames(), ", "))
	}
	return u, nil
}

// endpoint resolves and validates the Sysdig API base URL from the flags.
func (a *app) endpoint() (string, error) {
	if a.baseURL != "" {
		return a.baseURL, nil
	}
	var raw string
	switch {
	case a.g.APIURL != "":
		raw = a.g.APIURL
	case a.g.SysdigRegion != "":
		u, err := RegionURL(a.g.SysdigRegion)
		if err != nil {
			return "", err
		}
		raw = u
	default:
		return "", usagef("no Sysdig endpoint: pass --sysdig-region (%s) or --api-url URL for on-prem", strings.Join(regionNames(), ", "))
	}
	u, err := sysdig.ValidateBaseURL(raw)
	if err != nil {
		return "", usagef("--api-url: %s", strings.TrimPrefix(err.Error(), "sysdig: "))
	}
	a.baseURL = u.String()
	return a.baseURL, nil
}

// token reads the Sysdig API token: from the Secrets Manager secret named by
// --token-secret, or from SYSDIG_API_TOKEN. source says where it came from.
func (a *app) token() (token, source string, err error) {
	if a.tok != "" {
		return a.tok, a.tokSrc, nil
	}
	token, source, err = a.readToken()
	if err == nil {
		a.tok, a.tokSrc = token, source
	}
	return token, source, err
}

func (a *app) readToken() (token, source string, err error) {
	if id := strings.TrimSpace(a.g.TokenSecret); id != "" {
		if a.deps.SecretsManager == nil {
			return "", "", errors.New("no Secrets Manager client configured")
		}
		api, err := a.deps.SecretsManager(a.ctx, secretRegion(id))
		if err != nil {
			return "", "", &hintError{err: fmt.Errorf("read the Sysdig API token from Secrets Manager secret %s: %w", clean(id, 300), err),
				hint: "configure AWS credentials and a region (AWS_PROFILE or AWS_REGION), or pass the secret's full ARN"}
		}
		t, err := tokensource.NewSecretsManager(api).Token(a.ctx, id)
		if err != nil {
			return "", "", &hintError{err: fmt.Errorf("read the Sysdig API token from Secrets Manager secret %s: %w", clean(id, 300), err),
				hint: "check the secret name or ARN, the AWS credentials and region, and that they allow secretsmanager:GetSecretValue (and kms:Decrypt for a customer-managed key)"}
		}
		a.red.add(t)
		return t, "Secrets Manager secret " + clean(id, 300), nil
	}
	t := strings.TrimSpace(a.env(TokenEnv))
	if t == "" {
		return "", "", usagef("no Sysdig API token: set %s to an administrator's Sysdig Monitor API token, or pass --token-secret NAME_OR_ARN to read it from Secrets Manager", TokenEnv)
	}
	a.red.add(t)
	return t, "environment variable " + TokenEnv, nil
}

// secretRegion is the region in a Secrets Manager secret ARN, or "" for a name.
func secretRegion(id string) string {
	parts := strings.SplitN(id, ":", 7)
	if len(parts) == 7 && parts[0] == "arn" && parts[2] == "secretsmanager" {
		return parts[3]
	}
	return ""
}

// sysdig returns the Sysdig client, building it on first use.
func (a *app) sysdig() (*sysdig.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	base, err := a.endpoint()
	if err != nil {
		return nil, err
	}
	tok, _, err := a.token()
	if err != nil {
		return nil, err
	}
	opts := []sysdig.Option{sysdig.WithLogger(a.logger), sysdig.WithUserAgent(Name)}
	if a.g.InsecureSkipTLSVerify {
		opts = append(opts, sysdig.WithInsecureSkipVerify())
	}
	opts = append(opts, a.deps.SysdigOptions...)
	c, err := sysdig.New(base, tok, opts...)
	if err != nil {
		return nil, err
	}
	a.client = c
	return c, nil
}

// hintError adds what to do to an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + ": " + e.hint }
func (e *hintError) Unwrap() error { return e.err }

// hint says what to do about err, or "" when the error already says it.
func (a *app) hint(err error) string {
	var he *hintError
	var ue *usageError
	switch {
	case errors.As(err, &he), errors.As(err, &ue):
		return ""
	case sysdig.IsAuth(err):
		return "" // the client's message already says what token is needed
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(a.ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("no answer within --timeout %s: raise --timeout, or check --sysdig-region or --api-url (%s) and the network path to it", a.g.Timeout, a.baseURL)
	case isTLSError(err):
		return "if this is an on-prem Sysdig with a self-signed certificate, pass --insecure-skip-tls-verify; otherwise check --api-url"
	case isNetError(err) && !strings.Contains(err.Error(), "reachable"):
		return fmt.Sprintf("check --sysdig-region or --api-url (%s) and the network path to it", a.baseURL)
	}
	var apiErr *sysdig.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode >= 500 {
		return "Sysdig answered with a server error: retry later, or raise --timeout"
	}
	return ""
}

// explain renders err with what to do.
func (a *app) explain(err error) string {
	msg := err.Error()
	if h := a.hint(err); h != "" {
		msg += ": " + h
	}
	return msg
}

func isTLSError(err error) bool {
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	var cve *tls.CertificateVerificationError
	if errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) || errors.As(err, &cve) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "x509:") || strings.Contains(s, "tls:")
}

func isNetError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") ||
		strings.Contains(s, "no answer within") || strings.Contains(s, "connection reset")
}
