package operator

import (
	"errors"
	"fmt"
	"strings"

	"sysdig-aws-connect/internal/sysdig"
)

type checkCmd struct {
	roleFlags
	RoleARN         string `name:"role-arn" placeholder:"ARN" help:"Role to look for at Sysdig; default: the role the stack creates in the caller's account (--role-path, --role-name)."`
	OnPremPrincipal string `name:"onprem-principal" placeholder:"ARN" help:"On-prem: the principal the role must trust (the stack's SysdigTrustedPrincipal output) instead of Sysdig's AWS account."`
	SysdigAccountID string `name:"sysdig-account-id" placeholder:"ID" help:"Sysdig's AWS account the role must trust, when the tenant does not report it (not us1)."`
}

// Check results.
const (
	resultOK   = "ok"
	resultFail = "fail"
	resultSkip = "skip"
)

// checkLine is one step of the checklist.
type checkLine struct {
	Name   string `json:"name"`
	Result string `json:"result"` // ok, fail or skip
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

type checklist struct {
	lines []checkLine
}

func (l *checklist) ok(name, detail string) {
	l.lines = append(l.lines, checkLine{Name: name, Result: resultOK, Detail: detail})
}

func (l *checklist) fail(name, detail, fix string) {
	l.lines = append(l.lines, checkLine{Name: name, Result: resultFail, Detail: detail, Fix: fix})
}

func (l *checklist) skip(name, why string) {
	l.lines = append(l.lines, checkLine{Name: name, Result: resultSkip, Detail: why})
}

func (l *checklist) failed() int {
	n := 0
	for _, c := range l.lines {
		if c.Result == resultFail {
			n++
		}
	}
	return n
}

// failFrom records err as a failed step, split into what happened and what to do.
func (a *app) failFrom(l *checklist, name string, err error, fallbackFix string) {
	detail, fix := err.Error(), ""
	var he *hintError
	var ue *usageError
	switch {
	case errors.As(err, &he):
		detail, fix = he.err.Error(), he.hint
	case errors.As(err, &ue):
		fix = fallbackFix
	case sysdig.IsAuth(err):
		fix = "put a current administrator's Sysdig Monitor API token in " + TokenEnv + " or in the --token-secret secret"
	default:
		fix = a.hint(err)
	}
	if fix == "" {
		fix = fallbackFix
	}
	l.fail(name, oneLine(detail), fix)
}

// Check names.
const (
	checkToken    = "Sysdig API token"
	checkSysdig   = "Sysdig API and token"
	checkRole     = "AWS role"
	checkTrust    = "Role trust: principal"
	checkTrustExt = "Role trust: external ID"
	checkProvider = "Role registered at Sysdig"
	checkStatus   = "Provider status"
)

func (c *checkCmd) Run(a *app) error {
	// Usage mistakes stop before the checklist.
	base, err := a.endpoint()
	if err != nil {
		return err
	}
	if c.RoleARN == "" {
		if _, err := stackRoleARN(identity{Partition: "aws", Account: "000000000000"}, c.roleFlags); err != nil {
			return err
		}
	}
	if err := c.checkTrustFlags(); err != nil {
		return err
	}
	var l checklist
	v := a.apiVersion()

	// 1. The token is readable.
	tokenOK := false
	if _, src, err := a.token(); err != nil {
		a.failFrom(&l, checkToken, err, fmt.Sprintf("set %s, or pass --token-secret NAME_OR_ARN", TokenEnv))
	} else {
		tokenOK = true
		l.ok(checkToken, "read from the "+src)
	}

	// 2. Sysdig answers and accepts the token: the external ID is readable.
	var client *sysdig.Client
	var info sysdig.ExternalIDInfo
	if !tokenOK {
		l.skip(checkSysdig, "needs the token")
	} else if cl, err := a.sysdig(); err != nil {
		a.failFrom(&l, checkSysdig, err, "check the token's value")
	} else if info, err = cl.ExternalID(a.ctx); err != nil {
		a.failFrom(&l, checkSysdig, fmt.Errorf("read the external ID at %s: %w", base, err), "check --sysdig-region or --api-url")
	} else {
		client = cl
		l.ok(checkSysdig, fmt.Sprintf("%s answers and accepts the token; external ID %s (an administrator's token is needed to register)", base, clean(info.ExternalID, 200)))
	}

	// 3. The role to look for.
	role, src, err := a.roleARN(c.RoleARN, c.roleFlags)
	if err != nil {
		a.failFrom(&l, checkRole, err, "pass --role-arn")
	} else {
		l.ok(checkRole, role+" (from "+src+")")
	}

	// The role trusts the right principal with the tenant's external ID (IAM GetRole).
	c.checkTrust(a, &l, role, client != nil, info)
	// Its policies hold the current permissions version (docs/permissions.md).
	c.checkRolePermissions(a, &l, role)

	// 4. The role is registered, and 5. its status.
	switch {
	case client == nil || role == "":
		l.skip(checkProvider, "needs the Sysdig API and the role")
		l.skip(checkStatus, "needs the provider")
	default:
		p, found, err := client.FindProviderByRole(a.ctx, v, role)
		switch {
		case err != nil:
			a.failFrom(&l, checkProvider, fmt.Errorf("look up providers for role %s: %w", role, err), "retry; see "+a.suggest("providers", "list"))
			l.skip(checkStatus, "needs the provider")
		case !found:
			l.fail(checkProvider, fmt.Sprintf("no provider at %s (%s API) holds role %s", base, v, role),
				"register it: "+c.registerCommand(a, role)+" (or deploy the CloudFormation stack)")
			l.skip(checkStatus, "needs the provider")
		default:
			l.ok(checkProvider, fmt.Sprintf("provider %s (alias %s, regions %s)", clean(p.ID, 130), orDash(p.Alias, 100), regionsText(p.Regions)))
			if statusLooksBad(p.Status) {
				l.fail(checkStatus, clean(p.Status, 200),
					"open Sysdig Monitor > Integrations > AWS CloudWatch for the provider's messages; check the role's trust policy (Sysdig's AWS account, the external ID) and its policies")
			} else {
				l.ok(checkStatus, orDash(p.Status, 200))
			}
		}
	}
	return a.writeChecklist(&l)
}

// registerCommand is the command line that registers role with the same endpoint.
func (c *checkCmd) registerCommand(a *app, role string) string {
	return a.suggest("register", "--role-arn", role)
}

// statusLooksBad reports whether a provider status says something is wrong.
// ASSUMED: Sysdig's documents name only "configured" (a new provider); a status
// mentioning an error or failure is read as a problem, anything else as fine.
func statusLooksBad(status string) bool {
	s := strings.ToLower(status)
	for _, bad := range []string{"error", "fail", "invalid", "denied", "unauthorized", "forbidden"} {
		if strings.Contains(s, bad) {
			return true
		}
	}
	return false
}

func (a *app) writeChecklist(l *checklist) error {
	failed := l.failed()
	if a.json() {
		if err := a.writeJSON(struct {
			OK     bool        `json:"ok"`
			Checks []checkLine `json:"checks"`
		}{failed == 0, l.lines}); err != nil {
			return err
		}
	} else {
		var b strings.Builder
		for _, c := range l.lines {
			mark := map[string]string{resultOK: "[ OK ]", resultFail: "[FAIL]", resultSkip: "[SKIP]"}[c.Result]
			fmt.Fprintf(&b, "%s %s: %s", mark, c.Name, c.Detail)
			if c.Fix != "" {
				fmt.Fprintf(&b, " -- fix: %s", c.Fix)
			}
			b.WriteByte('\n')
		}
		if failed == 0 {
			b.WriteString("All checks passed.\n")
		}
		if _, err := fmt.Fprint(a.stdout, b.String()); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &reportedError{msg: fmt.Sprintf("check failed: %d of %d checks failed (details above)", failed, len(l.lines))}
	}
	return nil
}
