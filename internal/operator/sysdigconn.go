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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

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

// endpoint resolves and validates the Sysdig API base URL: --api-url, --sysdig-region,
// then the environment (SYSDIG_MONITOR_URL or SYSDIG_REGION, not both).
func (a *app) endpoint() (string, error) {
	if a.baseURL != "" {
		return a.baseURL, nil
	}
	envURL, envRegion := strings.TrimSpace(a.env(URLEnv)), strings.TrimSpace(a.env(RegionEnv))
	var raw string
	switch {
	case a.g.APIURL != "":
		raw, a.endpointFrom = a.g.APIURL, "--api-url"
	case a.g.SysdigRegion != "":
		a.endpointFrom, a.regionName = "--sysdig-region", a.g.SysdigRegion
	case envURL != "" && envRegion != "":
		return "", usagef("both %s and %s are set: unset one, or pass --api-url or --sysdig-region", URLEnv, RegionEnv)
	case envURL != "":
		raw, a.endpointFrom = envURL, URLEnv
	case envRegion != "":
		a.endpointFrom, a.regionName = RegionEnv, envRegion
	default:
		return "", usagef("no Sysdig endpoint: pass --sysdig-region (%s) or --api-url URL for on-prem (or set %s or %s)", strings.Join(regionNames(), ", "), RegionEnv, URLEnv)
	}
	if a.regionName != "" {
		u, err := RegionURL(a.regionName)
		if err != nil {
			if a.endpointFrom == RegionEnv {
				return "", usagef("%s=%q is not a Sysdig region: use one of %s", RegionEnv, clean(a.regionName, 40), strings.Join(regionNames(), ", "))
			}
			return "", err
		}
		raw = u
	}
	u, err := sysdig.ValidateBaseURL(raw)
	if err != nil {
		return "", usagef("%s: %s", a.endpointFrom, strings.TrimPrefix(err.Error(), "sysdig: "))
	}
	a.baseURL = u.String()
	return a.baseURL, nil
}

// token reads the Sysdig API token: from the Secrets Manager secret named by
// --token-secret, or from SYSDIG_MONITOR_API_TOKEN (or SYSDIG_API_TOKEN). source says
// where it came from.
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
			//msg:internal test wiring only: the program always configures the client
			return "", "", errors.New("no Secrets Manager client configured")
		}
		what := fmt.Sprintf("read the Sysdig API token from --token-secret %s", clean(id, 300))
		api, err := a.deps.SecretsManager(a.awsCtx(), secretRegion(id))
		if err != nil {
			return "", "", &hintError{err: fmt.Errorf("%s: %w", what, err),
				hint: "configure AWS credentials and a region (AWS_PROFILE or AWS_REGION), or give --token-secret the secret's full ARN"}
		}
		out, err := api.GetSecretValue(a.awsCtx(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return "", "", &hintError{err: fmt.Errorf("%s: %s", what, awsErrorText(err)), hint: secretHint(err)}
		}
		if out.SecretString == nil {
			return "", "", usagef("--token-secret %s holds binary data: store the Sysdig API token as a string", clean(id, 300))
		}
		t, err := tokensource.ParseSecret(*out.SecretString)
		if err != nil {
			return "", "", usagef("--token-secret %s: %v", clean(id, 300), err)
		}
		a.red.add(t)
		return t, "Secrets Manager secret " + clean(id, 300) + " (--token-secret)", nil
	}
	for _, name := range []string{TokenEnv, LegacyTokenEnv} {
		if t := strings.TrimSpace(a.env(name)); t != "" {
			a.red.add(t)
			return t, "environment variable " + name, nil
		}
	}
	return "", "", usagef("no Sysdig API token: set %s to a Sysdig Monitor API token (an administrator's to register or remove), or pass --token-secret NAME_OR_ARN to read it from Secrets Manager", TokenEnv)
}

// secretHint says which flag or AWS setting to change for a failed GetSecretValue.
func secretHint(err error) string {
	var nf *smtypes.ResourceNotFoundException
	var ae smithy.APIError
	switch {
	case errors.As(err, &nf):
		return "check --token-secret: a secret name in the configured region (AWS_REGION), or the secret's full ARN"
	case errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "KMS"), errors.As(err, &ae) && strings.HasPrefix(ae.ErrorCode(), "Decryption"):
		return "your AWS identity needs kms:Decrypt on the secret's KMS key"
	case errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "AccessDenied"):
		return "your AWS identity needs secretsmanager:GetSecretValue on the --token-secret secret (and kms:Decrypt on its key); a secret created by the stack may be read only by the stack's function: put the token in SYSDIG_MONITOR_API_TOKEN instead"
	}
	return "check --token-secret, the AWS credentials and the region"
}

// awsErrorText is an AWS error without the SDK's request ids.
func awsErrorText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
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
	opts := a.clientOptions()
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
		return fmt.Sprintf("no answer within --timeout %s: raise --timeout, or check %s (%s) and the network path to it", a.g.Timeout, a.endpointFlag(), a.baseURL)
	case isTLSError(err):
		return "if this is an on-prem Sysdig with a self-signed certificate, pass --insecure-skip-tls-verify; otherwise check --api-url"
	case isNetError(err) && !strings.Contains(err.Error(), "reachable"):
		return fmt.Sprintf("check %s (%s) and the network path to it", a.endpointFlag(), a.baseURL)
	}
	var apiErr *sysdig.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode >= 500 {
		return "Sysdig answered with a server error: retry later, or raise --timeout"
	}
	return ""
}

// endpointFlag names what set the endpoint, for hints.
func (a *app) endpointFlag() string {
	if a.endpointFrom != "" {
		return a.endpointFrom
	}
	return "--sysdig-region or --api-url"
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
