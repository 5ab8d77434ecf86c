package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/sysdigemu"
)

// TestOrganizationRollout plays an Organization rollout: the deployer stack in the
// management account (its own registration included), then 200 member accounts' stacks
// from the member template, created concurrently as a StackSet would, their requests
// reaching the registrar through SNS, against a Sysdig that rate-limits and states its
// limit in X-RateLimit-Limit. Every account is registered exactly once, with one Sysdig
// call per account (429 answers aside) and answers whose size does not grow with the
// organization; their deletion deregisters every one with one call each (the registry of
// record holds each provider) and touches nothing else; a request whose role belongs to
// another account than its stack is refused.
func TestOrganizationRollout(t *testing.T) {
	const (
		members     = 200
		concurrency = 5    // the deployer's RegistrarConcurrency default
		perMinute   = 3000 // Sysdig's rate limit in this test
	)
	env := start(t, localrun.Options{
		FunctionTimeout: orgFunctionTimeout(t),
		Concurrency:     concurrency,
		Sysdig:          []sysdigemu.Option{sysdigemu.WithRateLimitPerMinute(perMinute, 10)},
		FunctionEnv:     orgFunctionEnv(concurrency),
		Idempotency:     true, // as the deployer runs it: IDEMPOTENCY_TABLE in a local DynamoDB
		Registry:        true, // and REGISTRY_TABLE
	})
	unrelated := env.Sysdig.Seed(sysdigProviderSpec("arn:aws:iam::999999999999:role/not-part-of-the-rollout"))

	// The deployer, in the management account. Its StackSet is captured as CloudFormation
	// would receive it: the member stacks below run its TemplateBody with its Parameters.
	var stackSet map[string]any
	captureStackSet := func(_ context.Context, _ *cfnsim.Stack, _ string, props map[string]any) (string, map[string]any, error) {
		stackSet = props
		return "SysdigAwsConnectOrg-members:0f1e2d3c", map[string]any{"StackSetId": "SysdigAwsConnectOrg-members:0f1e2d3c"}, nil
	}
	deployer := env.NewStack(loadTemplate(t, "sysdig-aws-connect-org.json"), "SysdigAwsConnectOrg",
		cfnsim.WithProvisioner("AWS::CloudFormation::StackSet", captureStackSet))
	if err := deployer.Create(ctx(t), map[string]string{
		"OrganizationId":        "o-abcdefghij",
		"OrganizationalUnitIds": "r-ab12",
		"SysdigRegion":          "custom",
		"SysdigCustomUrl":       env.SysdigURL,
		"ApiTokenSecret":        env.SecretARN,
	}); err != nil {
		t.Fatal(err)
	}
	topicARN, _, ok := deployer.Resource("RegistrarTopic")
	if !ok {
		t.Fatal("the deployer created no RegistrarTopic")
	}
	outputs, _ := deployer.Outputs()
	externalID := ""
	for k, v := range outputs {
		if strings.Contains(k, "ExternalId") {
			externalID = v
		}
	}
	if externalID != sysdigemu.DefaultExternalID {
		t.Fatalf("deployer outputs %v: want the external ID fetched once", outputs)
	}
	if n := len(env.Sysdig.Providers()); n != 2 {
		t.Fatalf("after the deployer Sysdig holds %d providers, want the unrelated one and the management account's", n)
	}

	memberTemplate, params := stackSetMembers(t, stackSet)
	if params["RegistrarTopicArn"] != topicARN || params["ApiTokenSecretArn"] != env.SecretARN || params["ExternalId"] != externalID || params["SysdigApiUrl"] != env.SysdigURL {
		t.Fatalf("the StackSet passes %v", params)
	}
	stacks := make([]*cfnsim.Stack, members)
	for i := range stacks {
		account := fmt.Sprintf("%012d", 100000000000+i)
		stacks[i] = cfnsim.New(memberTemplate, cfnsim.Pseudo{AccountID: account, Region: localrun.Region, StackName: "StackSet-SysdigAwsConnect-" + account},
			env.Invoker(), env.Responder(), cfnsim.WithMaxWait(5*time.Minute))
	}
	env.RegisterStackInstances("SysdigAwsConnectOrg", stacks...)

	start := time.Now()
	stats := env.Sysdig.Stats()
	if errs := all(stacks, func(s *cfnsim.Stack) error { return s.Create(ctx(t), params) }); len(errs) > 0 {
		t.Fatalf("%d of %d member stacks failed, first: %v", len(errs), members, errs[0])
	}
	created := time.Since(start)
	createStats := since(env.Sysdig.Stats(), stats)
	throttled := createStats.Throttled
	checkCalls(t, "Create", createStats, members, 1)

	held := env.Sysdig.Providers()
	byRole := map[string]int{}
	for _, p := range held {
		byRole[p.RoleARN]++
	}
	for i, s := range stacks {
		role := roleARN(s.Pseudo().AccountID, "sysdig-role")
		if byRole[role] != 1 {
			t.Fatalf("member %d: role %s registered %d times", i, role, byRole[role])
		}
		id, _, _ := s.Resource("SysdigProvider")
		ref, err := registrar.ParseProviderRef(id)
		if err != nil || ref.RoleARN != role {
			t.Fatalf("member %d answered %q", i, id)
		}
	}
	if len(held) != members+2 {
		t.Fatalf("Sysdig holds %d providers, want %d", len(held), members+2)
	}

	// A request for another account's role, sent through the same topic, is refused
	// before it reaches Sysdig.
	before := len(env.Sysdig.Requests())
	forged := send(t, env, request{requestType: "Create", sns: true, stackAccount: "100000000000",
		props: map[string]any{"ServiceToken": topicARN, "SysdigApiUrl": env.SysdigURL, "ApiTokenSecretId": env.SecretARN,
			"RoleArn": roleARN("100000000001", "sysdig-role")}})
	checkAnswer(t, env, forged, orgFunctionTimeout(t), "FAILED", "refused")
	if len(env.Sysdig.Requests()) != before {
		t.Fatal("the refused request reached Sysdig")
	}

	start = time.Now()
	stats = env.Sysdig.Stats()
	if errs := all(stacks, func(s *cfnsim.Stack) error { return s.Delete(ctx(t)) }); len(errs) > 0 {
		t.Fatalf("%d member stacks failed to delete, first: %v", len(errs), errs[0])
	}
	deleted := time.Since(start)
	deleteStats := since(env.Sysdig.Stats(), stats)
	throttled += deleteStats.Throttled
	checkCalls(t, "Delete", deleteStats, members, 1)
	left := env.Sysdig.Providers()
	if len(left) != 2 {
		t.Fatalf("after the members' deletion Sysdig holds %d providers: %+v", len(left), left)
	}
	for _, p := range left {
		if p.ID != unrelated && !strings.HasPrefix(p.RoleARN, "arn:aws:iam::"+localrun.AccountID+":") {
			t.Fatalf("a provider survived that should not have: %+v", p)
		}
	}
	if err := deployer.Delete(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if left := env.Sysdig.Providers(); len(left) != 1 || left[0].ID != unrelated {
		t.Fatalf("after the deployer's deletion Sysdig holds %+v", left)
	}
	checkLogs(t, env)
	checkAllAnswered(t, env, 2*members)
	calls := len(env.Sysdig.Requests())
	t.Logf("%d accounts at %d requests/minute with %d registrars: created in %s, deleted in %s; %d Sysdig calls, %d answered 429",
		members, perMinute, concurrency, created.Round(time.Millisecond), deleted.Round(time.Millisecond), calls, throttled)
}

func since(now, before sysdigemu.Stats) sysdigemu.Stats {
	return sysdigemu.Stats{Requests: now.Requests - before.Requests, Throttled: now.Throttled - before.Throttled, Bytes: now.Bytes - before.Bytes}
}

// checkCalls asserts the calls per account (429 answers aside) and that the bytes Sysdig
// sent per account stay those of a provider or two, whatever the organization's size.
func checkCalls(t *testing.T, what string, s sysdigemu.Stats, accounts, perAccount int) {
	t.Helper()
	if got := float64(s.Requests-s.Throttled) / float64(accounts); got > float64(perAccount)*1.05 {
		t.Errorf("%s: %.2f Sysdig calls per account besides 429s, want at most %.2f", what, got, float64(perAccount)*1.05)
	}
	if per := (s.Bytes - int64(s.Throttled)*300) / int64(accounts); per > int64(perAccount)*1200 {
		t.Errorf("%s: %d bytes from Sysdig per account", what, per)
	}
}

// stackSetMembers reads the template and parameters the StackSet deploys to members.
func stackSetMembers(t *testing.T, props map[string]any) (*cfnsim.Template, map[string]string) {
	t.Helper()
	if props == nil {
		t.Fatal("the deployer created no StackSet")
	}
	if props["PermissionModel"] != "SERVICE_MANAGED" {
		t.Fatalf("PermissionModel %v", props["PermissionModel"])
	}
	body, _ := props["TemplateBody"].(string)
	tpl, err := cfnsim.ParseTemplate([]byte(body))
	if err != nil {
		t.Fatalf("the StackSet's TemplateBody: %v", err)
	}
	params := map[string]string{}
	list, _ := props["Parameters"].([]any)
	for _, p := range list {
		m, _ := p.(map[string]any)
		params[fmt.Sprint(m["ParameterKey"])] = fmt.Sprint(m["ParameterValue"])
	}
	return tpl, params
}

func orgFunctionTimeout(t *testing.T) time.Duration {
	tpl := loadTemplate(t, "sysdig-aws-connect-org.json")
	var secs int
	if _, err := fmt.Sscan(fmt.Sprint(tpl.Resources["RegistrarFunction"].Properties["Timeout"]), &secs); err != nil || secs <= 0 {
		t.Fatalf("RegistrarFunction Timeout %v", tpl.Resources["RegistrarFunction"].Properties["Timeout"])
	}
	return time.Duration(secs) * time.Second
}

// all runs f on every stack concurrently, as a StackSet operation does, and returns the
// errors.
func all(stacks []*cfnsim.Stack, f func(*cfnsim.Stack) error) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, s := range stacks {
		wg.Go(func() {
			if err := f(s); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// orgDeployerStack is the Organizations deployer's stack name in these tests.
const orgDeployerStack = "SysdigAwsConnectOrg"

// orgFunctionEnv is the registrar's environment as the org template sets it: topic
// requests authenticated against the StackSet, Sysdig's limit shared by the instances
// ({"Ref":"RegistrarConcurrency"}).
func orgFunctionEnv(concurrency int) map[string]string {
	env := localrun.OrganizationEnv(orgDeployerStack)
	env["CONCURRENT_INSTANCES"] = fmt.Sprint(concurrency)
	return env
}
