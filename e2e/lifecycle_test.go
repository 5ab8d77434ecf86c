package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// stackParams are the one-click template's parameters for the local world.
func stackParams(env *localrun.Env, kv ...string) map[string]string {
	p := map[string]string{
		"SysdigRegion":    "custom",
		"SysdigCustomUrl": env.SysdigURL,
		"ApiTokenSecret":  localrun.SecretName,
		"ProviderAlias":   "e2e",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// customEvents lists "phase:RequestType:Status" for one custom resource.
func customEvents(events []cfnsim.Event, logicalID string) []string {
	var out []string
	for _, e := range events {
		if e.LogicalID == logicalID {
			out = append(out, e.Phase+":"+e.RequestType+":"+e.Status)
		}
	}
	return out
}

func TestStackLifecycle(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect.json"), "SysdigAwsConnect")

	if err := stack.Create(ctx(t), stackParams(env, "DiscoveryRegions", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	out, _ := stack.Outputs()
	ps := env.Sysdig.Providers()
	if len(ps) != 1 || ps[0].RoleARN != roleARN(localrun.AccountID, "sysdig-role") || out["SysdigProviderId"] != ps[0].ID ||
		out["ExternalIdInUse"] != sysdigemu.DefaultExternalID || out["SysdigProviderStatus"] != "configured" {
		t.Fatalf("after create: outputs %v, Sysdig %+v", out, ps)
	}
	firstID, _, _ := stack.Resource("SysdigProvider")

	// Update in place: alias and regions.
	if err := stack.Update(ctx(t), map[string]string{"ProviderAlias": "e2e-2", "DiscoveryRegions": "us-east-1,eu-central-1"}); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := stack.Resource("SysdigProvider"); id != firstID {
		t.Fatal("an in-place update changed the physical id")
	}
	if ps := env.Sysdig.Providers(); len(ps) != 1 || ps[0].Alias != "e2e-2" || strings.Join(ps[0].Regions, ",") != "EU_CENTRAL_1,US_EAST_1" {
		t.Fatalf("after the update: %+v", ps)
	}

	// Update with replacement, then CloudFormation's cleanup.
	before := len(stack.Events())
	if err := stack.Update(ctx(t), map[string]string{"RoleName": "sysdig-role-2"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(customEvents(stack.Events()[before:], "SysdigProvider"), " "); got != "update:Update:SUCCESS cleanup:Delete:SUCCESS" {
		t.Fatalf("replacement sequence %s", got)
	}
	if ps := env.Sysdig.Providers(); len(ps) != 1 || ps[0].RoleARN != roleARN(localrun.AccountID, "sysdig-role-2") || ps[0].Alias != "e2e-2" {
		t.Fatalf("after the replacement: %+v", ps)
	}

	if err := stack.Delete(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if ps := env.Sysdig.Providers(); len(ps) != 0 {
		t.Fatalf("after delete: %+v", ps)
	}
	checkLogs(t, env)
}

// Datadog #124: a registration that existed before the stack survives a failed Create and
// its rollback.
func TestFailedCreateAndRollback(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	existing := env.Sysdig.Seed(sysdig.ProviderSpec{RoleARN: roleARN(localrun.AccountID, "sysdig-role"), Alias: "registered by hand"})
	stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect.json"), "SysdigAwsConnect")
	err := stack.Create(ctx(t), stackParams(env))
	var se *cfnsim.StackError
	if !errors.As(err, &se) || se.LogicalID != "SysdigProvider" || !strings.Contains(se.Reason, "OnExisting") {
		t.Fatalf("create: %v", err)
	}
	if got := strings.Join(customEvents(stack.Events(), "SysdigProvider"), " "); got != "create:Create:FAILED rollback:Delete:SUCCESS" {
		t.Fatalf("sequence %s", got)
	}
	ps := env.Sysdig.Providers()
	if len(ps) != 1 || ps[0].ID != existing || ps[0].Alias != "registered by hand" {
		t.Fatalf("the registration that existed before the stack did not survive: %+v", ps)
	}
	// The POST Sysdig refused (409) changed nothing; nothing else but reads was sent.
	for _, r := range env.Sysdig.Requests() {
		if r.Method != http.MethodGet && !(r.Method == http.MethodPost && r.Status == http.StatusConflict) {
			t.Fatalf("the failed create and its rollback changed Sysdig: %s %s (%d)", r.Method, r.Path, r.Status)
		}
	}
}

func TestFailedUpdateAndRollback(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect.json"), "SysdigAwsConnect")
	if err := stack.Create(ctx(t), stackParams(env)); err != nil {
		t.Fatal(err)
	}
	env.Sysdig.Inject(sysdigemu.Fault{Method: http.MethodPut, Statuses: []int{400}})
	before := len(stack.Events())
	if err := stack.Update(ctx(t), map[string]string{"ProviderAlias": "refused"}); err == nil {
		t.Fatal("the update should fail")
	}
	if got := strings.Join(customEvents(stack.Events()[before:], "SysdigProvider"), " "); got != "update:Update:FAILED rollback:Update:SUCCESS" {
		t.Fatalf("sequence %s", got)
	}
	if ps := env.Sysdig.Providers(); len(ps) != 1 || ps[0].Alias != "e2e" {
		t.Fatalf("after the rollback Sysdig holds %+v", ps)
	}
	if out, _ := stack.Outputs(); out["SysdigProviderAlias"] != "e2e" {
		t.Fatalf("outputs after rollback %v", out)
	}
}

func TestFailedReplacementLeavesNothing(t *testing.T) {
	// A Sysdig whose create answer has no status: the function reads the provider back.
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t), Sysdig: []sysdigemu.Option{sysdigemu.WithoutStatusInWriteAnswers()}})
	stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect.json"), "SysdigAwsConnect")
	if err := stack.Create(ctx(t), stackParams(env)); err != nil {
		t.Fatal(err)
	}
	// The new registration succeeds, reading it back fails: the update fails.
	env.Sysdig.Inject(sysdigemu.Fault{Method: http.MethodGet, PathPrefix: "/api/providers/2", Statuses: []int{500, 500, 500, 500, 500, 500, 500, 500}})
	if err := stack.Update(ctx(t), map[string]string{"RoleName": "sysdig-role-2"}); err == nil {
		t.Fatal("the update should fail")
	}
	ps := env.Sysdig.Providers()
	if len(ps) != 1 || ps[0].RoleARN != roleARN(localrun.AccountID, "sysdig-role") {
		t.Fatalf("after the failed replacement and its rollback Sysdig holds %+v", ps)
	}
}

func TestDeleteWhenSysdigLostTheProvider(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect.json"), "SysdigAwsConnect")
	if err := stack.Create(ctx(t), stackParams(env)); err != nil {
		t.Fatal(err)
	}
	env.Sysdig.Reset()
	if err := stack.Delete(ctx(t)); err != nil {
		t.Fatalf("delete after Sysdig lost the provider: %v", err)
	}
}

func TestSameDeleteTwice(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	other := env.Sysdig.Seed(sysdig.ProviderSpec{RoleARN: roleARN(localrun.AccountID, "someone-else"), Alias: "other"})
	created := send(t, env, request{requestType: "Create", props: providerProps(env)})
	checkAnswer(t, env, created, templateTimeout(t), "SUCCESS", "")
	for i := 0; i < 2; i++ {
		out := send(t, env, request{requestType: "Delete", physicalID: created.resp.PhysicalResourceID, props: providerProps(env)})
		checkAnswer(t, env, out, templateTimeout(t), "SUCCESS", "")
	}
	if ps := env.Sysdig.Providers(); len(ps) != 1 || ps[0].ID != other {
		t.Fatalf("Sysdig holds %+v", ps)
	}
}

// The member template's ServiceToken is an SNS topic: every request arrives wrapped in SNS.
func TestMemberStackThroughSNS(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect-member.json"), "StackSet-sysdig-member")
	params := map[string]string{
		"RegistrarTopicArn": "arn:aws:sns:us-east-1:" + localrun.AccountID + ":sysdig-registrar",
		"ApiTokenSecretArn": env.SecretARN,
		"SysdigApiUrl":      env.SysdigURL,
		"ExternalId":        sysdigemu.DefaultExternalID,
		// The deployer passes the account Sysdig reports (its own Custom::SysdigExternalId).
		"SysdigAwsAccountId": sysdigemu.DefaultSysdigAWSAccountID,
	}
	if err := stack.Create(ctx(t), params); err != nil {
		t.Fatal(err)
	}
	ps := env.Sysdig.Providers()
	if len(ps) != 1 || ps[0].Alias != "aws-"+localrun.AccountID {
		t.Fatalf("Sysdig holds %+v", ps)
	}
	if err := stack.Delete(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if len(env.Sysdig.Providers()) != 0 {
		t.Fatal("the member's registration survived its stack")
	}
	snsSeen := false
	for _, l := range env.Logs() {
		snsSeen = snsSeen || strings.Contains(l, `"via":"sns"`)
	}
	if !snsSeen {
		t.Fatal("no request arrived through SNS")
	}
}
