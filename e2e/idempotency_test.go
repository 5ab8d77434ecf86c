package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sysdig-aws-connect/internal/dedupe"
	"sysdig-aws-connect/internal/lambdarun"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdigemu"
)

// SNS and Lambda's asynchronous invocation deliver at least once. These tests deliver the
// same request more than once to the real bootstrap, with the idempotency table in a local
// DynamoDB (dynalite), as the Organizations deployer runs it.

// duplicate is one request, built once, delivered as many times as a test likes.
type duplicate struct {
	id, signature string
	payload       []byte
}

func newDuplicate(t *testing.T, env *localrun.Env, account string) duplicate {
	t.Helper()
	seq++
	id := fmt.Sprintf("%08d-dup0-4000-8000-%012d", seq, time.Now().UnixNano()%1e12)
	stackID := stackIDFor(account)
	url, err := env.Catcher.NewURLFor(localaws.Target{RequestID: id, StackID: stackID, LogicalResourceID: "SysdigProvider"})
	if err != nil {
		t.Fatal(err)
	}
	props := providerProps(env, "RoleArn", roleARN(account, "sysdig-role"))
	msg, _ := json.Marshal(map[string]any{
		"RequestType": "Create", "RequestId": id, "ResponseURL": url, "ResourceType": "Custom::SysdigProvider",
		"LogicalResourceId": "SysdigProvider", "StackId": stackID, "ResourceProperties": props,
	})
	payload, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "Sns": map[string]any{
		"TopicArn": "arn:aws:sns:us-east-1:" + localrun.AccountID + ":sysdig-registrar", "Message": string(msg)}}}})
	return duplicate{id: id, signature: env.Catcher.Signature(id), payload: payload}
}

func (d duplicate) deliver(env *localrun.Env) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := env.Function.Invoke(ctx, d.payload)
	return err
}

// answers are the bodies S3 accepted for the request, in order.
func (d duplicate) answers(env *localrun.Env) []string {
	var out []string
	for _, a := range env.Catcher.Attempts(d.id) {
		if a.Accepted {
			out = append(out, string(a.Body))
		}
	}
	return out
}

// idempotentEnv runs the registrar with both of the deployer's tables: the record of
// requests and the registry of record.
func idempotentEnv(t *testing.T, opts localrun.Options) *localrun.Env {
	opts.Idempotency = true
	opts.Registry = true
	if opts.FunctionTimeout == 0 {
		opts.FunctionTimeout = orgFunctionTimeout(t)
	}
	return start(t, opts)
}

// checkOneProvider asserts that Sysdig holds exactly the provider the answer names.
func checkOneProvider(t *testing.T, env *localrun.Env, answer string) {
	t.Helper()
	var resp localaws.Response
	if err := json.Unmarshal([]byte(answer), &resp); err != nil || resp.Status != "SUCCESS" {
		t.Fatalf("answer %s: want SUCCESS", answer)
	}
	ref, err := registrar.ParseProviderRef(resp.PhysicalResourceID)
	if err != nil {
		t.Fatalf("answer names %q: %v", resp.PhysicalResourceID, err)
	}
	ps := env.Sysdig.Providers()
	if len(ps) != 1 || ps[0].ID != ref.ID {
		t.Fatalf("Sysdig holds %+v; want only the provider %s the answer names", ps, ref.ID)
	}
}

func countRegistrations(env *localrun.Env) int {
	n := 0
	for _, r := range env.Sysdig.Requests() {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

func TestSameCreateDeliveredTwice(t *testing.T) {
	t.Run("one after the other", func(t *testing.T) {
		env := idempotentEnv(t, localrun.Options{})
		d := newDuplicate(t, env, localrun.AccountID)
		for i := range 2 {
			if err := d.deliver(env); err != nil {
				t.Fatalf("delivery %d: %v", i, err)
			}
		}
		got := d.answers(env)
		if len(got) != 2 || got[0] != got[1] {
			t.Fatalf("answers %q; want two identical", got)
		}
		checkOneProvider(t, env, got[0])
		if n := countRegistrations(env); n != 1 {
			t.Fatalf("%d registrations reached Sysdig", n)
		}
		checkLogs(t, env, d.signature)
	})

	// The second delivery arrives, in another execution environment, while the first is
	// registering: it does no work, waits for the first's answer and sends it again.
	t.Run("concurrently", func(t *testing.T) {
		env := idempotentEnv(t, localrun.Options{Concurrency: 2})
		// The registration takes a while, so that the deliveries overlap.
		env.Sysdig.Inject(sysdigemu.Fault{Method: http.MethodPost, Latency: 3 * time.Second})
		d := newDuplicate(t, env, localrun.AccountID)
		first := make(chan error, 1)
		go func() { first <- d.deliver(env) }()
		waitFor(t, 30*time.Second, "the first delivery to reach Sysdig", func() bool { return env.Sysdig.InFlight() > 0 })
		if err := d.deliver(env); err != nil {
			t.Fatal(err)
		}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		got := d.answers(env)
		if len(got) != 2 || got[0] != got[1] {
			t.Fatalf("answers %q; want two identical", got)
		}
		if !slices.ContainsFunc(env.Logs(), func(l string) bool {
			return strings.Contains(l, "the stored answer was sent again") && strings.Contains(l, `"waited_ms"`)
		}) {
			t.Fatal("the second delivery did not wait for the first one's answer")
		}
		checkOneProvider(t, env, got[0])
		if n := countRegistrations(env); n != 1 {
			t.Fatalf("%d registrations reached Sysdig", n)
		}
		checkLogs(t, env, d.signature)
	})
}

// A delivery killed in the middle of its work (its execution environment crashed) leaves
// the request in progress: a duplicate within its lease (the function's timeout) does
// nothing, one after the lease takes the request over and answers.
func TestDeliveryThatDiesBeforeAnswering(t *testing.T) {
	// The lease ends 2 s after the dead delivery's deadline (timeout + 2 s after it
	// started); a duplicate gives up with a tenth of its time left, so one that starts
	// less than 2 s + timeout/10 after the first cannot outwait the lease.
	const timeout = 8 * time.Second
	env := idempotentEnv(t, localrun.Options{FunctionTimeout: timeout})
	// The first registration hangs until its client goes away.
	env.Sysdig.Inject(sysdigemu.Fault{Method: http.MethodPost, Hang: true})
	d := newDuplicate(t, env, localrun.AccountID)

	started := crashDelivery(t, env, d, "the first delivery to reach Sysdig", func() bool { return env.Sysdig.InFlight() > 0 }, nil)

	// Within the lease, with no time to outwait it: nothing.
	if time.Since(started) >= 2*time.Second {
		t.Fatal("the test machine is too slow: the duplicate could outwait the lease")
	}
	if err := d.deliver(env); err != nil {
		t.Fatal(err)
	}
	if got := d.answers(env); len(got) != 0 {
		t.Fatalf("a duplicate within the lease answered %q", got)
	}
	if n := countRegistrations(env); n != 1 {
		t.Fatalf("%d registrations reached Sysdig; want only the hung one", n)
	}

	// After the lease (the first delivery's deadline plus 2 s of skew): taken over.
	time.Sleep(time.Until(started.Add(timeout + 3*time.Second)))
	if err := d.deliver(env); err != nil {
		t.Fatal(err)
	}
	got := d.answers(env)
	if len(got) != 1 {
		t.Fatalf("answers %q after the lease, want 1", got)
	}
	checkOneProvider(t, env, got[0])
	// And a later duplicate gets the same answer.
	if err := d.deliver(env); err != nil {
		t.Fatal(err)
	}
	if again := d.answers(env); len(again) != 2 || again[1] != got[0] {
		t.Fatalf("answers %q; want the same answer twice", again)
	}
	checkLogs(t, env, d.signature)
}

// A delivery killed after Sysdig accepted its registration, before it answered: here
// while it reads the provider back (a tenant whose answer lacks the status makes it), with
// the provider's id recorded in the request's record. The duplicate after the lease reads
// that provider by id and answers with it: no second POST (which would get 409), one
// provider, created by the stack (not adopted), and the stack's Delete removes it.
func TestDeliveryThatDiesAfterSysdigRegistered(t *testing.T) {
	const timeout = 8 * time.Second
	env := idempotentEnv(t, localrun.Options{FunctionTimeout: timeout, Sysdig: []sysdigemu.Option{sysdigemu.WithoutStatusInWriteAnswers()}})
	// The read-back after the registration hangs until its client goes away.
	env.Sysdig.Inject(sysdigemu.Fault{Method: http.MethodGet, PathPrefix: "/api/providers/", Hang: true})
	d := newDuplicate(t, env, localrun.AccountID)

	var registered registrar.ProviderRef
	started := crashDelivery(t, env, d, "the first delivery to register and read the provider back", func() bool {
		return len(env.Sysdig.Providers()) == 1 && countRegistrations(env) == 1 && env.Sysdig.InFlight() > 0
	}, func() {
		// The provider's id is in the request's record before the delivery dies.
		var err error
		key := dedupe.Key{StackID: stackIDFor(localrun.AccountID), LogicalResourceID: "SysdigProvider", RequestID: d.id}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rec, ok, err := dedupe.NewDynamoDB(env.Dynamo.Client(), localrun.IdempotencyTable).Get(ctx, key)
		if err != nil || !ok || rec.State != dedupe.StateInProgress {
			t.Fatalf("record %+v (found %v): %v", rec, ok, err)
		}
		registered, err = registrar.ParseProviderRef(rec.PhysicalID)
		if err != nil || registered.ID != env.Sysdig.Providers()[0].ID || registered.Adopted {
			t.Fatalf("the record holds progress %q (%v); want the provider Sysdig registered", rec.PhysicalID, err)
		}
	})

	// After the lease (the first delivery's deadline plus 2 s of skew): taken over.
	time.Sleep(time.Until(started.Add(timeout + 3*time.Second)))
	if err := d.deliver(env); err != nil {
		t.Fatal(err)
	}
	got := d.answers(env)
	if len(got) != 1 {
		t.Fatalf("answers %q after the lease, want 1; the function's log:\n%s", got, strings.Join(env.Logs(), "\n"))
	}
	checkOneProvider(t, env, got[0])
	var resp localaws.Response
	_ = json.Unmarshal([]byte(got[0]), &resp)
	if resp.PhysicalResourceID != registered.String() {
		t.Fatalf("answered %q, want the provider the dead delivery registered, %q", resp.PhysicalResourceID, registered)
	}
	if n := countRegistrations(env); n != 1 {
		t.Fatalf("%d registrations reached Sysdig; want only the dead delivery's", n)
	}
	if !slices.ContainsFunc(env.Logs(), func(l string) bool { return strings.Contains(l, "answering with it") }) {
		t.Fatal("the resumed registration was not logged")
	}
	// The delivery that took over recorded the provider in the registry of record.
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	rec, ok, err := registry.New(env.Dynamo.Client(), localrun.RegistryTable).Get(rctx, registry.Key{StackID: stackIDFor(localrun.AccountID), LogicalResourceID: "SysdigProvider"})
	if err != nil || !ok || rec.ProviderID != registered.ID || rec.State != registry.StateActive {
		t.Fatalf("registry of record: %+v (found %v): %v", rec, ok, err)
	}

	// The stack's Delete removes it: it was created by the stack, not adopted.
	del := send(t, env, request{requestType: "Delete", sns: true, physicalID: resp.PhysicalResourceID, props: providerProps(env, "RoleArn", roleARN(localrun.AccountID, "sysdig-role"))})
	checkAnswer(t, env, del, timeout, "SUCCESS", "")
	if ps := env.Sysdig.Providers(); len(ps) != 0 {
		t.Fatalf("Sysdig still holds %+v after the Delete", ps)
	}
	checkLogs(t, env, d.signature)
}

// Lambda retries a crashed invocation about a minute later, well within the dead
// delivery's lease (the function's timeout): the retry waits for the lease to end, takes
// the request over and answers.
func TestRetryOfACrashedDeliveryTakesOver(t *testing.T) {
	// The retry (at half the timeout) takes over when the lease ends, 2 s after the dead
	// delivery's deadline, with half the timeout less 2 s left: 6 s here.
	const timeout = 16 * time.Second
	env := idempotentEnv(t, localrun.Options{FunctionTimeout: timeout})
	env.Sysdig.Inject(sysdigemu.Fault{Method: http.MethodPost, Hang: true})
	d := newDuplicate(t, env, localrun.AccountID)
	started := crashDelivery(t, env, d, "the first delivery to reach Sysdig", func() bool { return env.Sysdig.InFlight() > 0 }, nil)
	// The retry comes at half the timeout: its deadline is well past the lease.
	time.Sleep(time.Until(started.Add(timeout / 2)))
	if err := d.deliver(env); err != nil {
		t.Fatal(err)
	}
	got := d.answers(env)
	if len(got) != 1 {
		t.Fatalf("answers %q, want 1; the function's log:\n%s", got, strings.Join(env.Logs(), "\n"))
	}
	checkOneProvider(t, env, got[0])
	if !slices.ContainsFunc(env.Logs(), func(l string) bool { return strings.Contains(l, "taking it over") }) {
		t.Fatal("the take-over was not logged")
	}
	checkLogs(t, env, d.signature)
}

// crashDelivery sends d's first delivery, waits until reached says it is in the middle of
// its work, runs whileAlive (if any), then kills the function's runtime and checks that the
// delivery failed without answering. It returns when the delivery was sent.
func crashDelivery(t *testing.T, env *localrun.Env, d duplicate, what string, reached func() bool, whileAlive func()) time.Time {
	t.Helper()
	started := time.Now()
	first := make(chan error, 1)
	go func() { first <- d.deliver(env) }()
	waitFor(t, 20*time.Second, what, reached)
	if whileAlive != nil {
		whileAlive()
	}
	killBootstrap(t, env)
	if err := <-first; err == nil {
		t.Fatal("the killed delivery succeeded")
	}
	if got := d.answers(env); len(got) != 0 {
		t.Fatalf("the killed delivery answered %q", got)
	}
	return started
}

// killBootstrap SIGKILLs the function's runtime process (not the emulator), as a crash
// of the execution environment would end it.
func killBootstrap(t *testing.T, env *localrun.Env) {
	t.Helper()
	killed := 0
	for _, f := range env.Function.Functions() {
		pids, err := lambdarun.SessionProcesses(f.PID())
		if err != nil {
			t.Fatal(err)
		}
		for _, pid := range pids {
			if pid != f.PID() {
				if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
					killed++
				}
			}
		}
	}
	if killed == 0 {
		t.Fatal("no runtime process to kill")
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAllAnswered asserts that the local idempotency table holds at least min records,
// every one answered: each request was recorded, and none was left in progress.
func checkAllAnswered(t *testing.T, env *localrun.Env, min int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := dynamodb.NewScanPaginator(env.Dynamo.Client(), &dynamodb.ScanInput{TableName: aws.String(localrun.IdempotencyTable)})
	n := 0
	for pages := 0; p.HasMorePages() && pages < 1000; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			if s, _ := item["state"].(*types.AttributeValueMemberS); s == nil || s.Value != string(dedupe.StateAnswered) {
				t.Fatalf("a record is not answered: %v", item)
			}
			n++
		}
	}
	if n < min {
		t.Fatalf("the idempotency table holds %d records, want at least %d", n, min)
	}
	t.Logf("%d requests recorded in the idempotency table, all answered", n)
}
