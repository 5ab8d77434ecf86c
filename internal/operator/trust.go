package operator

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"sysdig-aws-connect/internal/permissions"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/sysdig"
)

// userARNRE is an IAM user ARN, read as strictly as role ARNs (rolearn.Parse).
var userARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:user/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)

// validPrincipal: an IAM role ARN or an IAM user ARN.
func validPrincipal(s string) bool {
	if _, err := registrar.ParseRoleARN(s); err == nil {
		return true
	}
	return len(s) <= 2048 && userARNRE.MatchString(s)
}

func (c *checkCmd) checkTrustFlags() error {
	if c.OnPremPrincipal != "" && !validPrincipal(c.OnPremPrincipal) {
		return usagef("--onprem-principal %q is not an IAM role or user ARN", clean(c.OnPremPrincipal, 120))
	}
	if c.SysdigAccountID != "" && !accountRE.MatchString(c.SysdigAccountID) {
		return usagef("--sysdig-account-id %q is not a 12-digit AWS account id", clean(c.SysdigAccountID, 40))
	}
	if c.OnPremPrincipal != "" && c.SysdigAccountID != "" {
		return usagef("--onprem-principal and --sysdig-account-id exclude each other: on-prem, the role trusts your principal, not Sysdig's account")
	}
	return nil
}

// trustStatement is one statement of a trust policy, in the shapes IAM allows.
type trustStatement struct {
	Effect    string          `json:"Effect"`
	Action    json.RawMessage `json:"Action"`
	Principal json.RawMessage `json:"Principal"`
	Condition map[string]map[string]json.RawMessage
}

// parseTrust decodes GetRole's AssumeRolePolicyDocument (URL-encoded JSON, as IAM answers it).
func parseTrust(doc string) ([]trustStatement, error) {
	return permissions.Statements[trustStatement](doc, "trust policy")
}

// expectedPrincipal is the principal the role must trust and where that comes from.
func (c *checkCmd) expectedPrincipal(a *app, partition string, sysdigOK bool, info sysdig.ExternalIDInfo) (want []string, what, skip string) {
	if c.OnPremPrincipal != "" {
		return []string{c.OnPremPrincipal}, "the on-prem principal " + c.OnPremPrincipal, ""
	}
	account, from := c.SysdigAccountID, "--sysdig-account-id"
	if account == "" && sysdigOK {
		account, from = info.SysdigAWSAccountID, "reported by Sysdig"
	}
	if account == "" && sysdigOK && strings.EqualFold(a.g.SysdigRegion, registrar.US1Region) {
		account, from = registrar.US1SysdigAWSAccountID, "us1's documented account; the tenant reports none"
	}
	if account == "" {
		if !sysdigOK {
			return nil, "", "needs the Sysdig API (Sysdig's AWS account), or --sysdig-account-id / --onprem-principal"
		}
		return nil, "", "Sysdig does not report its AWS account for this tenant: pass --sysdig-account-id (" + registrar.AccountIDsHelp + "), or --onprem-principal on-prem"
	}
	root := fmt.Sprintf("arn:%s:iam::%s:root", partition, account)
	return []string{root, account}, fmt.Sprintf("Sysdig's account %s (%s)", account, from), ""
}

// checkTrust reads the role with iam:GetRole and compares its trust policy with the
// principal the role must trust and the tenant's external ID: one line each.
func (c *checkCmd) checkTrust(a *app, l *checklist, role string, sysdigOK bool, info sysdig.ExternalIDInfo) {
	if role == "" {
		l.skip(checkTrust, "needs the role")
		l.skip(checkTrustExt, "needs the role")
		return
	}
	parsed, err := registrar.ParseRoleARN(role)
	if err != nil {
		l.skip(checkTrust, "needs a valid role ARN")
		l.skip(checkTrustExt, "needs a valid role ARN")
		return
	}
	if a.deps.IAM == nil {
		l.fail(checkTrust, "no IAM client configured", "configure AWS credentials")
		l.skip(checkTrustExt, "needs the role's trust policy")
		return
	}
	api, err := a.deps.IAM(a.ctx)
	var out *iam.GetRoleOutput
	if err == nil {
		out, err = api.GetRole(a.ctx, &iam.GetRoleInput{RoleName: aws.String(parsed.Name)})
	}
	if err != nil {
		fix := "configure AWS credentials of account " + parsed.AccountID + " allowed iam:GetRole"
		if apiErrorCode(err) == "NoSuchEntity" {
			fix = "deploy the stack in account " + parsed.AccountID + ", or pass --role-arn / --role-name; run check with credentials of the role's account"
		}
		l.fail(checkTrust, oneLine(fmt.Sprintf("iam:GetRole %s: %v", parsed.Name, awsErr(err))), fix)
		l.skip(checkTrustExt, "needs the role's trust policy")
		return
	}
	if got := aws.ToString(out.Role.Arn); got != "" && got != role {
		l.fail(checkTrust, fmt.Sprintf("iam:GetRole %s answered role %s, not %s", parsed.Name, clean(got, 300), role), "run check with credentials of account "+parsed.AccountID)
		l.skip(checkTrustExt, "needs the role's trust policy")
		return
	}
	stmts, err := parseTrust(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		l.fail(checkTrust, "role "+role+": "+err.Error(), "redeploy the stack")
		l.skip(checkTrustExt, "needs the role's trust policy")
		return
	}
	var principals, externalIDs []string
	for _, st := range stmts {
		if st.Effect != "Allow" || !slices.ContainsFunc(permissions.StringOrList(st.Action), func(s string) bool { return s == "sts:AssumeRole" || s == "sts:*" || s == "*" }) {
			continue
		}
		var p map[string]json.RawMessage
		if json.Unmarshal(st.Principal, &p) == nil {
			principals = append(principals, permissions.StringOrList(p["AWS"])...)
		}
		for op, kv := range st.Condition {
			if op == "StringEquals" || op == "StringLike" {
				externalIDs = append(externalIDs, permissions.StringOrList(kv["sts:ExternalId"])...)
			}
		}
	}

	want, what, skip := c.expectedPrincipal(a, parsed.Partition, sysdigOK, info)
	switch {
	case skip != "":
		l.skip(checkTrust, skip)
	case slices.ContainsFunc(principals, func(p string) bool { return slices.Contains(want, p) }):
		l.ok(checkTrust, fmt.Sprintf("role %s trusts %s", parsed.Name, what))
	default:
		fix := "redeploy the stack with SysdigAwsAccountId empty (the account Sysdig reports) and OnPremCredentials None"
		if c.OnPremPrincipal != "" {
			fix = "redeploy the stack with OnPremCredentials ExistingPrincipal and OnPremPrincipalArn " + c.OnPremPrincipal
		}
		l.fail(checkTrust, fmt.Sprintf("role %s trusts %s, not %s: Sysdig cannot assume it", parsed.Name, orDash(strings.Join(principals, ", "), 300), what), fix)
	}

	switch {
	case !sysdigOK:
		l.skip(checkTrustExt, "needs the Sysdig API (the tenant's external ID)")
	case slices.Contains(externalIDs, info.ExternalID):
		l.ok(checkTrustExt, "the trust requires sts:ExternalId "+clean(info.ExternalID, 200)+", the tenant's")
	case len(externalIDs) == 0:
		l.fail(checkTrustExt, fmt.Sprintf("role %s's trust has no sts:ExternalId condition: anyone in the trusted account could assume it", parsed.Name),
			"redeploy the stack (it always sets the condition), or add StringEquals sts:ExternalId "+clean(info.ExternalID, 200))
	default:
		l.fail(checkTrustExt, fmt.Sprintf("role %s requires sts:ExternalId %s, but the tenant's external ID is %s", parsed.Name, clean(strings.Join(externalIDs, ", "), 300), clean(info.ExternalID, 200)),
			"redeploy the stack with ExternalId empty (read from Sysdig), or set it to "+clean(info.ExternalID, 200))
	}
}
