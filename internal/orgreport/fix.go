package orgreport

import (
	"regexp"
	"strings"

	"sysdig-aws-connect/internal/registry"
)

// TokenPlaceholder stands for the Sysdig API token in fix commands: the deployer's token
// secret is readable by its function only, so the person running the fix supplies it.
const TokenPlaceholder = "…"

// fixer writes the one pasteable command that fixes a verdict.
type fixer struct{ st Stack }

// safeWord needs no shell quoting.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_./:=,@+-]*$`)

func shellQuote(s string) string {
	if s != "" && safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func cmd(words ...string) string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		if w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

func (x fixer) region() string { return "--region " + shellQuote(x.st.Region) }

func (x fixer) callAs() string {
	if x.st.CallAs != "" && x.st.CallAs != "SELF" {
		return "--call-as " + shellQuote(x.st.CallAs)
	}
	return ""
}

// targets names exactly one account of one OU.
func (x fixer) targets(account, ou string) string {
	return "--deployment-targets OrganizationalUnitIds=" + shellQuote(ou) + ",Accounts=" + account + ",AccountFilterType=INTERSECTION"
}

func (x fixer) instanceCmd(verb, account, ou string, more ...string) string {
	return cmd(append([]string{"aws cloudformation " + verb + " --stack-set-name " + shellQuote(x.st.StackSet),
		x.targets(account, ou), "--regions " + shellQuote(x.st.Region), x.callAs(), x.region()}, more...)...)
}

func (x fixer) createInstance(account, ou string) string {
	return x.instanceCmd("create-stack-instances", account, ou)
}

func (x fixer) updateInstance(account, ou string) string {
	return x.instanceCmd("update-stack-instances", account, ou)
}

// recreateInstance deletes and creates the instance again, so the registrar registers the
// account anew (the StackSet's managed execution queues the second operation).
func (x fixer) recreateInstance(account, ou string) string {
	return x.instanceCmd("delete-stack-instances", account, ou, "--no-retain-stacks") + " && " + x.createInstance(account, ou)
}

func (x fixer) listInstances() string {
	return cmd("aws cloudformation list-stack-instances --stack-set-name "+shellQuote(x.st.StackSet), x.callAs(), x.region())
}

func (x fixer) describeAccount(account string) string {
	return "aws organizations describe-account --account-id " + account
}

func (x fixer) scanRegistry() string {
	return cmd("aws dynamodb scan --table-name "+shellQuote(x.st.RegistryTable)+" --max-items 1", x.region())
}

func (x fixer) deployer(v Verdict) string {
	if v == VerdictPending {
		return ""
	}
	return cmd("aws cloudformation describe-stack-events --stack-name "+shellQuote(x.st.Name)+" --max-items 20", x.region())
}

func (x fixer) reconcile() string {
	return cmd("sysdig-connect org reconcile --stack "+shellQuote(x.st.Name), x.region(), "--apply")
}

// sysdigCmd is a sysdig-connect command against the record's Sysdig, with the token from
// the environment.
func (x fixer) sysdigCmd(rec *registry.Record, words ...string) string {
	api := ""
	if rec.API == "v2" {
		api = "--provider-api v2"
	}
	return cmd(append([]string{"SYSDIG_MONITOR_API_TOKEN=" + TokenPlaceholder + " sysdig-connect", words[0],
		"--api-url " + shellQuote(cmpOr(rec.SysdigURL, x.st.SysdigURL)), api}, words[1:]...)...)
}

func (x fixer) deregister(rec *registry.Record) string {
	role := ""
	if rec.RoleARN != "" {
		role = "--role-arn " + shellQuote(rec.RoleARN)
	}
	return x.sysdigCmd(rec, "deregister", role, shellQuote(rec.ProviderID))
}

func (x fixer) getProvider(rec *registry.Record) string {
	return x.sysdigCmd(rec, "providers get", shellQuote(rec.ProviderID))
}

// register sets the provider's alias and regions back to the stack's (adopting the
// provider that holds the role).
func (x fixer) register(rec *registry.Record) string {
	words := []string{"register", "--role-arn " + shellQuote(rec.RoleARN)}
	if rec.Alias != "" {
		words = append(words, "--alias "+shellQuote(rec.Alias))
	}
	regions := "all"
	if len(rec.Regions) > 0 {
		regions = strings.Join(rec.Regions, ",")
	}
	return x.sysdigCmd(rec, append(words, "--regions "+shellQuote(regions), "--on-existing adopt")...)
}

// check verifies the role step by step (run with the member account's credentials).
func (x fixer) check(rec *registry.Record) string {
	return x.sysdigCmd(rec, "check", "--role-arn "+shellQuote(rec.RoleARN))
}
