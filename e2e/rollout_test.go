package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/sysdigemu"
)

// rolloutConfig is an Organization rollout: accounts member accounts registered, then
// deregistered, through instances function instances, against a Sysdig that allows
// perMinute requests per minute and says so in X-RateLimit-Limit.
type rolloutConfig struct {
	accounts  int
	instances int
	perMinute int
	// noRegistry runs the registrar without the registry of record (as before it existed:
	// each Delete reads the provider by id first), for comparison.
	noRegistry bool
}

// phase is what one half of a rollout (every Create, or every Delete) measured.
type phase struct {
	name       string
	wall       time.Duration
	callsFloor int // Sysdig calls the phase needs at the least (1 per Create, 1 per Delete)
	calls      int // Sysdig calls made, 429s included
	throttled  int // of which answered 429
	bytes      int64
	conns      int // TCP connections opened to Sysdig
	secrets    int // GetSecretValue calls
	authCalls  int // DescribeStackInstance calls (authentication of topic requests)
	failed     int // requests answered FAILED, or not answered
	reasons    []string
}

// bound is the least time the phase can take at the limit: the calls it needs ÷ the rate.
func (p phase) bound(perMinute int) time.Duration {
	return time.Duration(float64(p.callsFloor) / float64(perMinute) * float64(time.Minute))
}

// rolloutResult is a whole rollout.
type rolloutResult struct {
	cfg        rolloutConfig
	create     phase
	delete     phase
	duplicates int // roles registered more than once after the Creates
	missing    int // accounts without a provider after the Creates
	leaked     int // providers of the rollout left after the Deletes
}

// runRollout starts the local world with cfg's function instances and Sysdig limit and
// sends every member account's Custom::SysdigProvider Create, wrapped in SNS as the
// registrar topic delivers it, all at once (the pool runs instances of them at a time,
// like a reserved concurrency), then every Delete.
func runRollout(tb testing.TB, cfg rolloutConfig) rolloutResult {
	tb.Helper()
	timeout := 300 * time.Second // the registrar's Timeout in the org template
	opts := localrun.Options{
		Bootstrap: bootstrap, RIE: rie,
		FunctionTimeout: timeout,
		Concurrency:     cfg.instances,
		// A burst of one request per instance: the first request of each instance
		// goes before any answer has stated the limit.
		Sysdig: []sysdigemu.Option{sysdigemu.WithRateLimitPerMinute(cfg.perMinute, cfg.instances)},
		// As the deployer runs the registrar: CONCURRENT_INSTANCES from RegistrarConcurrency,
		// topic requests authenticated against the StackSet, duplicates recognised, every
		// registration in the registry of record.
		FunctionEnv: orgFunctionEnv(cfg.instances),
		Idempotency: true,
		Registry:    !cfg.noRegistry,
		LogWriter:   io.Discard,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	env, err := localrun.Start(ctx, opts)
	cancel()
	if err != nil {
		tb.Fatal(err)
	}
	defer env.Close()
	unrelated := env.Sysdig.Seed(sysdigProviderSpec("arn:aws:iam::999999999999:role/not-part-of-the-rollout"))

	accounts := make([]string, cfg.accounts)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%012d", 100000000000+i)
		// Each account's stack is the StackSet's instance there, in an operation.
		env.CloudFormation.PutStackInstance(localrun.StackSetName(orgDeployerStack), localaws.StackInstance{
			Account: accounts[i], Region: localrun.Region, StackID: memberStackID(accounts[i]), DetailedStatus: localaws.InstanceRunning})
	}
	res := rolloutResult{cfg: cfg}
	physical := make([]string, cfg.accounts)
	res.create = runPhase(tb, env, "Create", accounts, 1, func(int) string { return "" }, physical)

	byRole := map[string]int{}
	for _, p := range env.Sysdig.Providers() {
		byRole[strings.ToLower(p.RoleARN)]++
	}
	for i, a := range accounts {
		n := byRole[strings.ToLower(roleARN(a, "sysdig-role"))]
		switch {
		case n == 0:
			res.missing++
		case n > 1:
			res.duplicates++
		}
		// The answer must name the provider, or the Delete could not remove it.
		if ref, err := registrar.ParseProviderRef(physical[i]); err != nil || ref.RoleARN != roleARN(a, "sysdig-role") {
			if res.create.failed == 0 {
				res.missing++
			}
		}
	}

	// The registry holds each provider: its Delete is the DELETE alone (without it, a read
	// by id comes first).
	deleteCalls := 1
	if cfg.noRegistry {
		deleteCalls = 2
	}
	res.delete = runPhase(tb, env, "Delete", accounts, deleteCalls, func(i int) string { return physical[i] }, nil)
	for _, p := range env.Sysdig.Providers() {
		if p.ID != unrelated {
			res.leaked++
		}
	}
	checkLogs(tb, env)
	return res
}

// runPhase sends one request per account, all at once, and waits for every answer.
func runPhase(tb testing.TB, env *localrun.Env, requestType string, accounts []string, callsPerAccount int,
	physicalOf func(int) string, physical []string) phase {
	tb.Helper()
	p := phase{name: requestType, callsFloor: callsPerAccount * len(accounts)}
	before := env.Sysdig.Stats()
	secretsBefore := len(env.Secrets.Requests())
	authBefore := env.CloudFormation.Count("DescribeStackInstance")
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i, account := range accounts {
		wg.Go(func() {
			resp, err := sendSNS(env, requestType, account, physicalOf(i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				p.failed++
				p.reasons = append(p.reasons, err.Error())
			case resp.Status != "SUCCESS":
				p.failed++
				p.reasons = append(p.reasons, resp.Reason)
			}
			if physical != nil {
				physical[i] = resp.PhysicalResourceID
			}
		})
	}
	wg.Wait()
	p.wall = time.Since(start)
	after := env.Sysdig.Stats()
	p.calls = after.Requests - before.Requests
	p.throttled = after.Throttled - before.Throttled
	p.bytes = after.Bytes - before.Bytes
	p.conns = after.Connections - before.Connections
	p.secrets = len(env.Secrets.Requests()) - secretsBefore
	p.authCalls = env.CloudFormation.Count("DescribeStackInstance") - authBefore
	return p
}

// sendSNS delivers one member account's request through the registrar topic's envelope
// and waits for its answer.
func sendSNS(env *localrun.Env, requestType, account, physicalID string) (localaws.Response, error) {
	id := fmt.Sprintf("rollout-%s-%s", strings.ToLower(requestType), account)
	stackID := memberStackID(account)
	url, err := env.Catcher.NewURLFor(localaws.Target{RequestID: id, StackID: stackID, LogicalResourceID: "SysdigProvider"})
	if err != nil {
		return localaws.Response{}, err
	}
	topic := "arn:aws:sns:" + localrun.Region + ":" + localrun.AccountID + ":SysdigAwsConnectOrg-RegistrarTopic"
	body := map[string]any{
		"RequestType": requestType, "RequestId": id, "ResponseURL": url, "ResourceType": "Custom::SysdigProvider",
		"LogicalResourceId": "SysdigProvider", "StackId": stackID,
		"ResourceProperties": map[string]any{
			"ServiceToken": topic, "ServiceTimeout": "3600", "SysdigApiUrl": env.SysdigURL,
			"ApiTokenSecretId": env.SecretARN, "RoleArn": roleARN(account, "sysdig-role"), "Alias": "StackSet " + account,
		},
	}
	if physicalID != "" {
		body["PhysicalResourceId"] = physicalID
	}
	msg, _ := json.Marshal(body)
	payload, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "Sns": map[string]any{
		"TopicArn": topic, "Message": string(msg)}}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	if _, err := env.Function.Invoke(ctx, payload); err != nil {
		return localaws.Response{}, fmt.Errorf("invoke: %w", err)
	}
	waitCtx, cancelWait := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelWait()
	return env.Catcher.Wait(waitCtx, id)
}

// memberStackID is the stack the StackSet made in account.
func memberStackID(account string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/StackSet-SysdigAwsConnect-%s/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", localrun.Region, account, account)
}

// check fails tb unless the rollout was correct: every account registered exactly once
// and deregistered, nothing failed, and no more Sysdig calls or bytes per account than
// the design allows (1 call per Create, 1 per Delete, 429 answers aside; bytes that do
// not grow with the number of accounts). Timing is never asserted.
func (r rolloutResult) check(tb testing.TB) {
	tb.Helper()
	n := r.cfg.accounts
	for _, p := range []phase{r.create, r.delete} {
		if p.failed > 0 {
			tb.Errorf("%s: %d of %d requests failed, first: %s", p.name, p.failed, n, p.reasons[0])
		}
		if worked := float64(p.calls-p.throttled) / float64(n); worked > float64(p.callsFloor)/float64(n)*1.05 {
			tb.Errorf("%s: %.2f Sysdig calls per account besides 429s, want at most %.2f", p.name, worked, float64(p.callsFloor)/float64(n)*1.05)
		}
		// Every request through the topic is authenticated with CloudFormation, once.
		if p.authCalls < n || float64(p.authCalls) > float64(n)*1.05 {
			tb.Errorf("%s: %d DescribeStackInstance calls for %d requests", p.name, p.authCalls, n)
		}
		// One client per warm instance: its token read once and its connections kept.
		if p.secrets > r.cfg.instances || p.conns > 2*r.cfg.instances {
			tb.Errorf("%s: %d reads of the secret and %d connections to Sysdig for %d instances", p.name, p.secrets, p.conns, r.cfg.instances)
		}
		// One provider's answer and headers: about a kilobyte whatever the tenant's size.
		if per := p.bytes / int64(n); per > int64(p.callsFloor/n)*1200+int64(p.throttled*300/n) {
			tb.Errorf("%s: %d bytes from Sysdig per account", p.name, per)
		}
	}
	if r.duplicates+r.missing+r.leaked > 0 {
		tb.Errorf("%d roles registered twice, %d accounts without a provider, %d providers leaked", r.duplicates, r.missing, r.leaked)
	}
}

// table renders the figures the benchmark prints.
func (r rolloutResult) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rollout: N=%d accounts, K=%d instances, R=%d requests/minute, registry of record %v\n", r.cfg.accounts, r.cfg.instances, r.cfg.perMinute, !r.cfg.noRegistry)
	fmt.Fprintf(&b, "%-7s %10s %10s %6s %14s %6s %15s %7s %12s %6s %10s\n", "phase", "wall", "bound", "ratio", "calls/account", "429s", "bytes/account", "failed", "secret-reads", "conns", "auth-calls")
	for _, p := range []phase{r.create, r.delete} {
		bound := p.bound(r.cfg.perMinute)
		fmt.Fprintf(&b, "%-7s %10s %10s %6.2f %14.3f %6d %15d %7d %12d %6d %10d\n", p.name, p.wall.Round(10*time.Millisecond), bound.Round(10*time.Millisecond),
			p.wall.Seconds()/bound.Seconds(), float64(p.calls)/float64(r.cfg.accounts), p.throttled, p.bytes/int64(r.cfg.accounts), p.failed, p.secrets, p.conns, p.authCalls)
	}
	fmt.Fprintf(&b, "duplicates %d, accounts missing %d, leaked %d\n", r.duplicates, r.missing, r.leaked)
	return b.String()
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// TestRollout200 runs a 200-account rollout with 5 instances and checks its correctness
// figures (never its timing).
func TestRollout200(t *testing.T) {
	r := runRollout(t, rolloutConfig{accounts: 200, instances: 5, perMinute: 3000})
	t.Log("\n" + r.table())
	r.check(t)
}

// BenchmarkRollout measures a rollout of ROLLOUT_ACCOUNTS (default 1000) accounts through
// ROLLOUT_INSTANCES (5) instances against a Sysdig limited to ROLLOUT_RATE_PER_MINUTE
// (3000) requests per minute (with the registry of record, unless ROLLOUT_REGISTRY=0, which
// runs the registrar as it was before it, for comparison), and prints, for the Creates and the Deletes: wall time, the
// bound (calls needed ÷ rate), their ratio, calls per account, 429 answers, bytes from
// Sysdig per account and failures. One run is one rollout: use -benchtime 1x.
func BenchmarkRollout(b *testing.B) {
	cfg := rolloutConfig{
		accounts:  envInt(b, "ROLLOUT_ACCOUNTS", 1000),
		instances: envInt(b, "ROLLOUT_INSTANCES", 5),
		perMinute: envInt(b, "ROLLOUT_RATE_PER_MINUTE", 3000),
		// envInt takes positive numbers only: 0 is read here.
		noRegistry: os.Getenv("ROLLOUT_REGISTRY") == "0",
	}
	var r rolloutResult
	for b.Loop() {
		r = runRollout(b, cfg)
	}
	fmt.Println(r.table())
	for _, p := range []phase{r.create, r.delete} {
		key := strings.ToLower(p.name)
		b.ReportMetric(p.wall.Seconds(), key+"-wall-s")
		b.ReportMetric(p.wall.Seconds()/p.bound(cfg.perMinute).Seconds(), key+"-ratio")
		b.ReportMetric(float64(p.calls)/float64(cfg.accounts), key+"-calls/account")
		b.ReportMetric(float64(p.bytes)/float64(cfg.accounts), key+"-bytes/account")
		b.ReportMetric(float64(p.throttled), key+"-429s")
	}
	r.check(b)
}
