package orgreport

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

const (
	testOU     = "ou-ab12-cd34ef56"
	testRegion = "eu-west-1"
	mgmtID     = "999900000000"
)

func testStack() Stack {
	return Stack{Name: "sysdig-org", ID: "arn:aws:cloudformation:eu-west-1:" + mgmtID + ":stack/sysdig-org/1", Region: testRegion,
		Account: mgmtID, Status: "CREATE_COMPLETE", StackSet: "sysdig-org-members", CallAs: "SELF", OUs: []string{testOU},
		RegistryTable: "reg", SysdigURL: "https://app.sysdigcloud.com", ProviderAPI: "v1"}
}

func role(a string) string { return "arn:aws:iam::" + a + ":role/sysdig-role" }

func stackID(a string) string {
	return "arn:aws:cloudformation:eu-west-1:" + a + ":stack/StackSet-m-1/x"
}

func rec(a, id string, origin registry.Origin) registry.Record {
	return registry.Record{Key: registry.Key{StackID: stackID(a), LogicalResourceID: "SysdigProvider"}, Account: a, Region: testRegion,
		RoleARN: role(a), ProviderID: id, API: "v1", SysdigURL: "https://app.sysdigcloud.com", Alias: "acme-" + a,
		Regions: []string{"eu-west-1"}, Origin: origin, State: registry.StateActive, UpdatedAt: time.Unix(1, 0)}
}

func prov(a, id string) sysdig.Provider {
	return sysdig.Provider{ID: id, RoleARN: role(a), Alias: "acme-" + a, Regions: []string{"EU_WEST_1"}, Status: "configured"}
}

func inst(a, detailed, reason string) Instance {
	return Instance{Account: a, Region: testRegion, OU: testOU, StackID: stackID(a), Status: "CURRENT", DetailedStatus: detailed, Reason: reason}
}

// world is one account's sources, each case changing what it needs.
type world struct {
	org  fakeOrg
	inst fakeInstances
	reg  fakeRegistry
	sd   fakeSysdig
}

// healthy is account 01 connected and healthy.
func healthy() *world {
	a := acct(1)
	return &world{
		org:  fakeOrg{listed: []Account{{ID: a, Name: "prod", State: "ACTIVE", OU: testOU, Target: testOU}}},
		inst: fakeInstances{list: []Instance{inst(a, "SUCCEEDED", "")}},
		reg:  fakeRegistry{recs: []registry.Record{rec(a, "7", registry.OriginCreated)}},
		sd:   fakeSysdig{provs: map[string]sysdig.Provider{"7": prov(a, "7")}},
	}
}

func TestBuildVerdicts(t *testing.T) {
	a := acct(1)
	tests := []struct {
		name     string
		change   func(w *world, st *Stack)
		noSysdig bool
		want     Verdict
		detail   string // a part of Detail
		fix      string // a part of Fix ("" : no fix expected)
	}{
		{"connected and healthy", func(*world, *Stack) {}, false, VerdictOK, "is configured at Sysdig", ""},
		{"no sysdig read", func(*world, *Stack) {}, true, VerdictOK, "--no-sysdig", ""},
		{"operation pending", func(w *world, _ *Stack) { w.inst.list[0].DetailedStatus = "PENDING" }, false, VerdictPending, "pending", ""},
		{"operation running", func(w *world, _ *Stack) { w.inst.list[0].DetailedStatus = "RUNNING" }, false, VerdictPending, "running", ""},
		{"instance failed", func(w *world, _ *Stack) {
			w.inst.list[0] = inst(a, "FAILED", "ResourceLogicalId:SysdigRole, ResourceStatusReason:role exists")
			w.reg.recs = nil
		}, false, VerdictFailed, "role exists", "aws cloudformation update-stack-instances --stack-set-name sysdig-org-members --deployment-targets OrganizationalUnitIds=" + testOU + ",Accounts=" + a + ",AccountFilterType=INTERSECTION --regions eu-west-1 --region eu-west-1"},
		{"instance inoperable", func(w *world, _ *Stack) { w.inst.list[0].DetailedStatus = "INOPERABLE" }, false, VerdictFailed, "INOPERABLE", "update-stack-instances"},
		{"no instance", func(w *world, _ *Stack) { w.inst.list = nil; w.reg.recs = nil }, false, VerdictMissing, "no stack instance",
			"aws cloudformation create-stack-instances --stack-set-name sysdig-org-members --deployment-targets OrganizationalUnitIds=" + testOU + ",Accounts=" + a},
		{"no instance, in an OU nested under the target", func(w *world, _ *Stack) {
			w.inst.list, w.reg.recs = nil, nil
			w.org.listed[0].OU = "ou-ab12-child001"
		}, false, VerdictMissing, "in OU ou-ab12-child001, under target OU " + testOU + ", but the StackSet has no stack instance",
			"--deployment-targets OrganizationalUnitIds=" + testOU + ",Accounts=" + a},
		{"no instance, delegated admin", func(w *world, st *Stack) { w.inst.list = nil; w.reg.recs = nil; st.CallAs = "DELEGATED_ADMIN" }, false, VerdictMissing, "no stack instance", "--call-as DELEGATED_ADMIN"},
		{"no registration", func(w *world, _ *Stack) { w.reg.recs = nil }, false, VerdictMissing, "no registration", "delete-stack-instances"},
		{"provider gone at Sysdig", func(w *world, _ *Stack) { w.sd.provs = nil }, false, VerdictMissing, "gone from Sysdig", "create-stack-instances"},
		{"closed account", func(w *world, _ *Stack) { w.org.listed[0].State = "SUSPENDED" }, false, VerdictOrphan, "SUSPENDED",
			"SYSDIG_MONITOR_API_TOKEN=… sysdig-connect deregister --api-url https://app.sysdigcloud.com --role-arn " + role(a) + " 7"},
		{"pending closure", func(w *world, _ *Stack) { w.org.listed[0].State = "PENDING_CLOSURE" }, false, VerdictOrphan, "PENDING_CLOSURE", "deregister"},
		{"left the organization", func(w *world, _ *Stack) { w.org.listed = nil; w.inst.list = nil }, false, VerdictOrphan, "no longer in the organization", "deregister"},
		{"moved outside the OUs", func(w *world, _ *Stack) {
			w.org.outside = map[string]Account{a: {ID: a, Name: "prod", State: "ACTIVE", OU: "ou-ab12-other000"}}
			w.org.listed, w.inst.list = nil, nil
		}, false, VerdictOrphan, "outside the target OUs", "deregister"},
		{"instance gone", func(w *world, _ *Stack) { w.inst.list = nil }, false, VerdictOrphan, "stack instance is gone", "deregister"},
		{"orphan already gone at Sysdig", func(w *world, _ *Stack) { w.inst.list = nil; w.sd.provs = nil }, false, VerdictOrphan, "already gone", "org reconcile --stack sysdig-org --region eu-west-1 --apply"},
		{"v2 orphan", func(w *world, _ *Stack) { w.inst.list = nil; w.reg.recs[0].API = "v2" }, false, VerdictOrphan, "gone", "--provider-api v2"},
		{"role drift", func(w *world, _ *Stack) { p := w.sd.provs["7"]; p.RoleARN = role(acct(2)); w.sd.provs["7"] = p }, false, VerdictDrift, "role arn:aws:iam::" + acct(2), "register"},
		{"alias drift", func(w *world, _ *Stack) { p := w.sd.provs["7"]; p.Alias = "renamed"; w.sd.provs["7"] = p }, false, VerdictDrift, `alias "renamed"`,
			"sysdig-connect register --api-url https://app.sysdigcloud.com --role-arn " + role(a) + " --alias acme-" + a + " --regions eu-west-1 --on-existing adopt"},
		{"regions drift", func(w *world, _ *Stack) { p := w.sd.provs["7"]; p.Regions = []string{"US_EAST_1"}; w.sd.provs["7"] = p }, false, VerdictDrift, "regions US_EAST_1 instead of EU_WEST_1", "register"},
		{"all regions at Sysdig", func(w *world, _ *Stack) { p := w.sd.provs["7"]; p.Regions = nil; w.sd.provs["7"] = p }, false, VerdictDrift, "regions all", "register"},
		{"unhealthy", func(w *world, _ *Stack) {
			p := w.sd.provs["7"]
			p.Status, p.Message = "error", "AccessDenied: sts:AssumeRole"
			w.sd.provs["7"] = p
		}, false, VerdictUnhealthy, "AccessDenied: sts:AssumeRole", "sysdig-connect check --api-url https://app.sysdigcloud.com --role-arn " + role(a)},
		{"no role at Sysdig", func(w *world, _ *Stack) { p := w.sd.provs["7"]; p.RoleARN = ""; w.sd.provs["7"] = p }, false, VerdictUnknown, "no role ARN", "providers get"},
		{"no alias at Sysdig", func(w *world, _ *Stack) { p := w.sd.provs["7"]; p.Alias = ""; w.sd.provs["7"] = p }, false, VerdictUnknown, "no alias", "providers get"},
		{"no status at Sysdig", func(w *world, _ *Stack) { p := w.sd.provs["7"]; p.Status = ""; w.sd.provs["7"] = p }, false, VerdictUnknown, "no status", "providers get"},
		{"unknown status", func(w *world, _ *Stack) { p := w.sd.provs["7"]; p.Status = "warming"; w.sd.provs["7"] = p }, false, VerdictUnknown, `"warming"`, "providers get"},
		{"sysdig read failed", func(w *world, _ *Stack) { w.sd.errs = map[string]error{"7": errors.New("sysdig: 503")} }, false, VerdictUnknown, "Sysdig GET provider 7", "providers get"},
		{"org listing failed", func(w *world, _ *Stack) { w.org.listErr = errDenied }, false, VerdictUnknown, "AWS Organizations listing", "aws organizations describe-account --account-id " + a},
		{"describe account failed", func(w *world, _ *Stack) {
			w.org.listed = nil
			w.org.descErr = map[string]error{a: errDenied}
		}, false, VerdictUnknown, "DescribeAccount " + a, "describe-account"},
		{"instances read failed", func(w *world, _ *Stack) { w.inst.err = errDenied }, false, VerdictUnknown, "ListStackInstances", "aws cloudformation list-stack-instances --stack-set-name sysdig-org-members --region eu-west-1"},
		{"registry read failed", func(w *world, _ *Stack) { w.reg.err = errDenied }, false, VerdictUnknown, "registry reg scan", "aws dynamodb scan --table-name reg"},
		{"closed, nothing registered", func(w *world, _ *Stack) {
			w.org.listed[0].State = "SUSPENDED"
			w.reg.recs = nil
			w.inst.list[0].DetailedStatus = "SKIPPED_SUSPENDED_ACCOUNT"
		}, false, VerdictOK, "nothing to connect", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, st := healthy(), testStack()
			tc.change(w, &st)
			src := Sources{Stack: st, Org: &w.org, Instances: &w.inst, Registry: &w.reg, Sysdig: &w.sd}
			if tc.noSysdig {
				src.Sysdig = nil
			}
			r, err := Build(context.Background(), src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Rows) != 1 {
				t.Fatalf("rows = %+v, want one", r.Rows)
			}
			row := r.Rows[0]
			if row.AccountID != a || row.Verdict != tc.want || !strings.Contains(row.Detail, tc.detail) {
				t.Fatalf("row = %+v\nwant verdict %s with detail containing %q", row, tc.want, tc.detail)
			}
			if (tc.fix == "") != (row.Fix == "") || !strings.Contains(row.Fix, tc.fix) {
				t.Fatalf("fix = %q, want one containing %q", row.Fix, tc.fix)
			}
			if r.Counts[tc.want] != 1 || len(r.Counts) != len(Verdicts) || r.AllOK() != (tc.want == VerdictOK) {
				t.Fatalf("counts = %v, AllOK %v", r.Counts, r.AllOK())
			}
		})
	}
}

func TestBuildManagementAccount(t *testing.T) {
	tests := []struct {
		name   string
		status string
		inReg  bool
		output string // SysdigProviderId output
		provs  map[string]sysdig.Provider
		want   Verdict
	}{
		{"from the outputs", "UPDATE_COMPLETE", false, "3", map[string]sysdig.Provider{"3": {ID: "3", RoleARN: role(mgmtID), Status: "configured"}}, VerdictOK},
		{"from the registry", "UPDATE_COMPLETE", true, "", map[string]sysdig.Provider{"3": prov(mgmtID, "3")}, VerdictOK},
		{"deployer updating", "UPDATE_IN_PROGRESS", false, "3", nil, VerdictPending},
		{"deployer rolled back", "UPDATE_ROLLBACK_COMPLETE", false, "3", nil, VerdictFailed},
		{"no registration", "CREATE_COMPLETE", false, "", nil, VerdictMissing},
		{"provider gone", "CREATE_COMPLETE", false, "3", nil, VerdictMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := testStack()
			st.ConnectManagement, st.Status, st.ProviderID, st.RoleARN = true, tc.status, tc.output, role(mgmtID)
			reg := &fakeRegistry{}
			if tc.inReg {
				r := rec(mgmtID, "3", registry.OriginCreated)
				r.StackID = st.ID
				reg.recs = append(reg.recs, r)
			}
			src := Sources{Stack: st, Org: &fakeOrg{outside: map[string]Account{mgmtID: {ID: mgmtID, Name: "management", State: "ACTIVE", OU: "r-ab12"}}}, Instances: &fakeInstances{}, Registry: reg, Sysdig: &fakeSysdig{provs: tc.provs}}
			r, err := Build(context.Background(), src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Rows) != 1 || r.Rows[0].AccountID != mgmtID || r.Rows[0].Verdict != tc.want {
				t.Fatalf("rows = %+v, want the management account %s", r.Rows, tc.want)
			}
		})
	}
}

func TestBuildReadsEachProviderOnce(t *testing.T) {
	var w world
	w.sd.provs = map[string]sysdig.Provider{}
	for i := 1; i <= 30; i++ {
		a, id := acct(i), string(rune('A'+i%26))+acct(i)
		w.org.listed = append(w.org.listed, Account{ID: a, State: "ACTIVE", OU: testOU, Target: testOU})
		w.inst.list = append(w.inst.list, inst(a, "SUCCEEDED", ""))
		w.reg.recs = append(w.reg.recs, rec(a, id, registry.OriginCreated))
		w.sd.provs[id] = prov(a, id)
	}
	// A removed record is history: never read, never a row of its own.
	old := rec(acct(40), "old", registry.OriginCreated)
	old.State = registry.StateRemoved
	w.reg.recs = append(w.reg.recs, old)
	var progress []int
	r, err := Build(context.Background(), Sources{Stack: testStack(), Org: &w.org, Instances: &w.inst, Registry: &w.reg, Sysdig: &w.sd},
		Options{Progress: func(done, total int) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if w.sd.gets != 30 || r.Counts[VerdictOK] != 30 || len(r.Rows) != 30 || len(progress) != 30 || progress[29] != 30 {
		t.Fatalf("gets %d, counts %v, rows %d, progress %v", w.sd.gets, r.Counts, len(r.Rows), progress)
	}
	for i := 1; i < len(r.Rows); i++ {
		if r.Rows[i-1].AccountID >= r.Rows[i].AccountID {
			t.Fatalf("rows not sorted by account: %s before %s", r.Rows[i-1].AccountID, r.Rows[i].AccountID)
		}
	}
}

func TestBuildNeedsItsSources(t *testing.T) {
	if _, err := Build(context.Background(), Sources{Stack: testStack()}, Options{}); err == nil {
		t.Fatal("Build without readers: no error")
	}
}

// TestBuildSecondRegistration reports a registration left by a replaced stack instance as
// an orphan row of its own, beside the account's current one.
func TestBuildSecondRegistration(t *testing.T) {
	w := healthy()
	a := acct(1)
	old := rec(a, "6", registry.OriginCreated)
	old.StackID = "arn:aws:cloudformation:eu-west-1:" + a + ":stack/StackSet-m-0/old"
	w.reg.recs = append(w.reg.recs, old)
	w.sd.provs["6"] = prov(a, "6")
	r, err := Build(context.Background(), Sources{Stack: testStack(), Org: &w.org, Instances: &w.inst, Registry: &w.reg, Sysdig: &w.sd}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 2 || r.Rows[0].ProviderID != "6" || r.Rows[0].Verdict != VerdictOrphan || r.Rows[1].ProviderID != "7" || r.Rows[1].Verdict != VerdictOK {
		t.Fatalf("rows = %+v", r.Rows)
	}
	if acts := Plan(r); len(acts) != 1 || acts[0].Kind != ActionDeregister || acts[0].ProviderID != "6" {
		t.Fatalf("plan = %+v", acts)
	}
}

// TestBuildDoesNotReadAnotherSysdigsProvider: provider ids are per Sysdig, so a record made
// at another Sysdig URL is not read at the one the report talks to (its id may be someone
// else's there): the row is UNKNOWN, and its fix reads it where it was registered.
func TestBuildDoesNotReadAnotherSysdigsProvider(t *testing.T) {
	for _, tc := range []struct {
		name, talking string
		wantGets      int
		want          Verdict
	}{
		{"the same Sysdig", "https://app.sysdigcloud.com/", 1, VerdictOK},
		{"another Sysdig", "https://eu1.app.sysdig.com", 0, VerdictUnknown},
		{"URL not known", "", 1, VerdictOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := healthy()
			r, err := Build(context.Background(), Sources{Stack: testStack(), Org: &w.org, Instances: &w.inst, Registry: &w.reg, Sysdig: &w.sd},
				Options{SysdigURL: tc.talking})
			if err != nil {
				t.Fatal(err)
			}
			row := r.Rows[0]
			if w.sd.gets != tc.wantGets || row.Verdict != tc.want {
				t.Fatalf("gets %d, verdict %s (%s); want %d, %s", w.sd.gets, row.Verdict, row.Detail, tc.wantGets, tc.want)
			}
			if tc.want == VerdictUnknown && (!strings.Contains(row.Detail, "registered at https://app.sysdigcloud.com") ||
				!strings.Contains(row.Fix, "--api-url https://app.sysdigcloud.com")) {
				t.Fatalf("detail %q, fix %q: want the recorded Sysdig named in both", row.Detail, row.Fix)
			}
		})
	}
}

// TestBuildManagementAccountNotConnected: under a root target the management account is
// listed, but StackSets never deploy there; with ConnectManagementAccount false it is not
// MISSING.
func TestBuildManagementAccountNotConnected(t *testing.T) {
	for _, callAs := range []string{"SELF", "DELEGATED_ADMIN"} {
		t.Run(callAs, func(t *testing.T) {
			st := testStack()
			st.CallAs, st.OUs = callAs, []string{"r-ab12"}
			org := &mgmtOrg{fakeOrg: fakeOrg{listed: []Account{{ID: mgmtID, Name: "management", State: "ACTIVE", OU: "r-ab12", Target: "r-ab12"}}}}
			if callAs == "SELF" {
				org.mgmt = "" // unknown to Organizations: the deployer's account stands for it
			} else {
				st.Account = acct(50) // the delegated administrator
				org.mgmt = mgmtID
			}
			r, err := Build(context.Background(), Sources{Stack: st, Org: org, Instances: &fakeInstances{}, Registry: &fakeRegistry{}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Rows) != 1 || r.Rows[0].Verdict != VerdictOK || !strings.Contains(r.Rows[0].Detail, "never deploy") {
				t.Fatalf("rows = %+v", r.Rows)
			}
		})
	}
}

type mgmtOrg struct {
	fakeOrg
	mgmt string
}

func (o *mgmtOrg) ManagementAccount(context.Context) (string, error) { return o.mgmt, nil }
