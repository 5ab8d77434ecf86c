package orgreport

import (
	"fmt"
	"slices"
	"strings"

	"sysdig-aws-connect/internal/sysdig"
)

// Account states (AWS Organizations).
const stateActive = "ACTIVE"

// Stack instance detailed statuses (CloudFormation StackInstanceStatus.DetailedStatus).
const (
	detailedPending   = "PENDING"
	detailedRunning   = "RUNNING"
	detailedSucceeded = "SUCCEEDED"
	detailedSkipped   = "SKIPPED_SUSPENDED_ACCOUNT"
)

// healthyStatuses are the provider statuses Sysdig gives a provider it can use. Any other
// status that names an error is UNHEALTHY; one this version does not know is UNKNOWN, never OK.
var healthyStatuses = []string{"configured", "ok", "connected", "active", "healthy"}

// errorWords mark a provider status as an error.
var errorWords = []string{"error", "fail", "invalid", "unauthorized", "denied", "broken", "unreachable"}

// classify gives one account its verdict, detail and fix. The order matters: a read that
// failed comes first (nothing else can be trusted), then a registration with nothing
// left to own it, then the StackSet's state, then Sysdig's side.
func classify(f *facts, st Stack, sysdigOn bool) Row {
	row := Row{AccountID: f.id, AccountName: f.acct.Name, AccountState: f.acct.State, OU: f.acct.OU, src: f}
	if !f.inTarget {
		row.OU = ""
	}
	if f.inst != nil {
		row.InstanceStatus, row.InstanceReason = cmpOr(f.inst.DetailedStatus, f.inst.Status), f.inst.Reason
		if row.OU == "" && f.inTarget {
			row.OU = f.inst.OU
		}
	}
	if f.mgmt {
		row.InstanceStatus = "deployer " + st.Status
	}
	if f.rec != nil {
		row.ProviderID = f.rec.ProviderID
	}
	if f.prov != nil {
		row.SysdigStatus, row.SysdigMessage = f.prov.Status, f.prov.Message
	}
	fx := fixer{st: st}
	set := func(v Verdict, detail, fix string) Row {
		row.Verdict, row.Detail, row.Fix = v, detail, fix
		return row
	}

	// 1. A read that failed.
	switch {
	case f.regErr != nil:
		return set(VerdictUnknown, "read failed: "+f.regErr.Error(), fx.scanRegistry())
	case f.instErr != nil && !f.mgmt:
		return set(VerdictUnknown, "read failed: "+f.instErr.Error(), fx.listInstances())
	case f.acctErr != nil:
		return set(VerdictUnknown, "read failed: "+f.acctErr.Error(), fx.describeAccount(f.id))
	}
	active := f.found && f.acct.State == stateActive

	// 2. A registration nothing owns any more.
	if f.rec != nil && !f.fromStack {
		why := ""
		switch {
		case !f.found:
			why = "the account is no longer in the organization"
		case !active:
			why = fmt.Sprintf("the account is %s (closed or suspended): StackSets cannot run its Delete", cmpOr(f.acct.State, "in an unknown state"))
		case !f.inTarget && !f.mgmt:
			why = "the account is outside the target OUs " + strings.Join(st.OUs, ",")
		case f.inst == nil && !f.mgmt:
			why = "its stack instance is gone"
		}
		if why != "" {
			if f.provRead && sysdig.IsNotFound(f.provErr) {
				return set(VerdictOrphan, fmt.Sprintf("registration %s is still in the registry but %s and the provider is already gone from Sysdig: the record only needs marking removed", f.rec.ProviderID, why),
					fx.reconcile())
			}
			return set(VerdictOrphan, fmt.Sprintf("provider %s (%s by the registrar) is registered but %s", f.rec.ProviderID, cmpOr(string(f.rec.Origin), "origin unknown"), why),
				fx.deregister(f.rec))
		}
	}

	// 3. The StackSet's side (the deployer stack's, for the management account).
	if f.mgmt {
		if v, detail, ok := deployerVerdict(st); ok {
			return set(v, detail, fx.deployer(v))
		}
	} else {
		if !active {
			// A closed account is not expected to be connected, and nothing is registered.
			return set(VerdictOK, fmt.Sprintf("the account is %s: nothing to connect and nothing registered", cmpOr(f.acct.State, "not in the organization")), "")
		}
		if f.inst == nil && f.mgmtOff {
			return set(VerdictOK, "the management account: StackSets never deploy here, and the deployer does not connect it (ConnectManagementAccount is false)", "")
		}
		if f.inst == nil {
			if t := target(f); t != f.acct.OU {
				// A nested OU is not itself a target: name both, as the fix names the target.
				return set(VerdictMissing, fmt.Sprintf("the account is in OU %s, under target OU %s, but the StackSet has no stack instance for it", f.acct.OU, t), fx.createInstance(f.id, t))
			}
			return set(VerdictMissing, fmt.Sprintf("the account is in target OU %s but the StackSet has no stack instance for it", f.acct.OU), fx.createInstance(f.id, target(f)))
		}
		switch f.inst.DetailedStatus {
		case detailedPending, detailedRunning:
			return set(VerdictPending, "a StackSet operation is "+strings.ToLower(f.inst.DetailedStatus)+" for the account; run the status again when it ends", "")
		case detailedSucceeded:
		case detailedSkipped:
			return set(VerdictPending, "the StackSet skipped the account as suspended; it is ACTIVE now: the next operation deploys it", fx.updateInstance(f.id, target(f)))
		case "":
			if f.inst.Status != "CURRENT" {
				return set(VerdictUnknown, fmt.Sprintf("the stack instance has no detailed status (status %q)", f.inst.Status), fx.listInstances())
			}
		default:
			return set(VerdictFailed, fmt.Sprintf("the stack instance is %s: %s", f.inst.DetailedStatus, cmpOr(f.inst.Reason, "CloudFormation gives no reason; see the StackSet's operations")),
				fx.updateInstance(f.id, target(f)))
		}
	}
	if f.rec == nil {
		if f.mgmt {
			return set(VerdictMissing, "the deployer connects the management account but neither the registry nor its SysdigProviderId output holds a registration", fx.deployer(VerdictMissing))
		}
		return set(VerdictMissing, "the stack instance succeeded but the registry holds no registration for the account (see the registrar's log group)", fx.recreateInstance(f.id, target(f)))
	}

	// 4. Sysdig's side.
	if !sysdigOn {
		return set(VerdictOK, "registered as provider "+f.rec.ProviderID+"; Sysdig not read (--no-sysdig)", "")
	}
	return sysdigVerdict(f, fx, set)
}

// sysdigVerdict compares what Sysdig answered with what the stack registered.
func sysdigVerdict(f *facts, fx fixer, set func(Verdict, string, string) Row) Row {
	rec, p := f.rec, f.prov
	if f.provErr != nil {
		if sysdig.IsNotFound(f.provErr) {
			if f.mgmt {
				return set(VerdictMissing, "provider "+rec.ProviderID+" is gone from Sysdig", fx.deployer(VerdictMissing))
			}
			return set(VerdictMissing, "provider "+rec.ProviderID+" is gone from Sysdig (removed outside the stack)", fx.recreateInstance(f.id, target(f)))
		}
		return set(VerdictUnknown, "read failed: Sysdig GET provider "+rec.ProviderID+": "+f.provErr.Error(), fx.getProvider(rec))
	}
	if p == nil {
		return set(VerdictUnknown, "Sysdig was not read for provider "+rec.ProviderID, fx.getProvider(rec))
	}
	// A missing field is never a match.
	if p.RoleARN == "" {
		return set(VerdictUnknown, "Sysdig's answer for provider "+rec.ProviderID+" has no role ARN: cannot tell whether it is the stack's role", fx.getProvider(rec))
	}
	var drift []string
	if rec.RoleARN != "" && !sysdig.SameRole(p.RoleARN, rec.RoleARN) {
		drift = append(drift, fmt.Sprintf("role %s instead of %s", p.RoleARN, rec.RoleARN))
	}
	if !f.fromStack {
		if rec.Alias != "" && p.Alias == "" {
			return set(VerdictUnknown, "Sysdig's answer for provider "+rec.ProviderID+" has no alias: cannot tell whether it is the stack's "+rec.Alias, fx.getProvider(rec))
		}
		if rec.Alias != "" && p.Alias != rec.Alias {
			drift = append(drift, fmt.Sprintf("alias %q instead of %q", p.Alias, rec.Alias))
		}
		if want, got := regionSet(rec.Regions), regionSet(p.Regions); !slices.Equal(want, got) {
			drift = append(drift, fmt.Sprintf("regions %s instead of %s", regionText(got), regionText(want)))
		}
	}
	if len(drift) > 0 {
		return set(VerdictDrift, "Sysdig's provider "+rec.ProviderID+" has "+strings.Join(drift, ", "), fx.register(rec))
	}
	status := strings.ToLower(strings.TrimSpace(p.Status))
	switch {
	case status == "":
		return set(VerdictUnknown, "Sysdig's answer for provider "+rec.ProviderID+" has no status", fx.getProvider(rec))
	case slices.Contains(healthyStatuses, status):
		return set(VerdictOK, "provider "+rec.ProviderID+" is "+p.Status+" at Sysdig", "")
	case containsAny(status, errorWords):
		return set(VerdictUnhealthy, fmt.Sprintf("Sysdig reports provider %s as %s: %s", rec.ProviderID, p.Status, cmpOr(p.Message, "no message")), fx.check(rec))
	}
	return set(VerdictUnknown, fmt.Sprintf("Sysdig reports provider %s as %q, a status this version does not know", rec.ProviderID, p.Status), fx.getProvider(rec))
}

// deployerVerdict is the management account's StackSet-side verdict, from the deployer
// stack's own status; ok is false when the stack is settled.
func deployerVerdict(st Stack) (Verdict, string, bool) {
	s := st.Status
	switch {
	case strings.HasSuffix(s, "_IN_PROGRESS"):
		return VerdictPending, "the deployer stack is " + s, true
	case strings.Contains(s, "FAILED") || strings.Contains(s, "ROLLBACK"):
		return VerdictFailed, "the deployer stack is " + s + ": see its events", true
	}
	return "", "", false
}

// regionSet is a region list in Sysdig's names, sorted; nil means all regions.
func regionSet(rs []string) []string {
	var out []string
	for _, r := range rs {
		n, err := sysdig.SysdigRegionName(r)
		if err != nil {
			n = strings.ToUpper(strings.TrimSpace(r))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func regionText(rs []string) string {
	if len(rs) == 0 {
		return "all"
	}
	return strings.Join(rs, ",")
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// target is the OU StackSet commands name for the account: its instance's, else the
// target OU it was found under.
func target(f *facts) string {
	if f.inst != nil && f.inst.OU != "" {
		return f.inst.OU
	}
	return cmpOr(f.acct.Target, f.acct.OU)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
