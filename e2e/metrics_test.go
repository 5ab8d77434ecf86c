package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/metrics"
	"sysdig-aws-connect/internal/sysdigemu"
)

// TestOneMetricRecordPerRequest runs the real bootstrap as the Organizations deployer
// configures it (request check, idempotency table) and checks its log: exactly one valid
// Embedded Metric Format record per request, with the outcome the request had — a
// genuine registration, the same request delivered again, a forged request, and the
// member's removal; the registration's call Sysdig throttled counts.
func TestOneMetricRecordPerRequest(t *testing.T) {
	const member, intruder = "210987654321", "111122223333"
	env := start(t, localrun.Options{FunctionTimeout: orgFunctionTimeout(t), FunctionEnv: localrun.OrganizationEnv(deployerName), Idempotency: true})
	stackSet := localrun.StackSetName(deployerName)
	env.CloudFormation.PutStackInstance(stackSet, localaws.StackInstance{Account: member, Region: localrun.Region, StackID: stackIDFor(member), DetailedStatus: localaws.InstanceRunning})
	timeout := orgFunctionTimeout(t)

	// Sysdig's rate limit answers the registration once: a throttled call, counted.
	env.Sysdig.Inject(sysdigemu.Fault{Method: http.MethodPost, Statuses: []int{http.StatusTooManyRequests}, RetryAfter: time.Second})
	d := newDuplicate(t, env, member)
	for i := range 2 {
		if err := d.deliver(env); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	answers := d.answers(env)
	if len(answers) != 2 {
		t.Fatalf("answers %q, want the same answer twice", answers)
	}
	checkOneProvider(t, env, answers[0])
	var created localaws.Response
	_ = json.Unmarshal([]byte(answers[0]), &created)

	props := providerProps(env, "RoleArn", roleARN(member, "sysdig-role"))
	forged := send(t, env, request{requestType: "Delete", sns: true, stackAccount: intruder, physicalID: created.PhysicalResourceID, props: props})
	checkAnswer(t, env, forged, timeout, "FAILED", "refused")
	deleted := send(t, env, request{requestType: "Delete", sns: true, stackAccount: member, physicalID: created.PhysicalResourceID, props: props})
	checkAnswer(t, env, deleted, timeout, "SUCCESS", "")

	type rec struct {
		Function, ResourceType, RequestType, Outcome, RequestId string
		Requests, SysdigCalls, ThrottledCalls                   float64
	}
	var recs []rec
	for _, line := range env.Logs() {
		if !metrics.IsRecord([]byte(line)) {
			continue
		}
		if err := metrics.Validate([]byte(line)); err != nil {
			t.Fatalf("%v\n%s", err, line)
		}
		var r rec
		_ = json.Unmarshal([]byte(line), &r)
		recs = append(recs, r)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.RequestType+" "+r.Outcome)
		if r.Function == "" || r.Function == "unknown" || r.ResourceType != "Custom::SysdigProvider" || r.Requests != 1 {
			t.Errorf("record %+v", r)
		}
	}
	want := []string{"Create SUCCESS", "Create DUPLICATE", "Delete REFUSED", "Delete SUCCESS"}
	if !slices.Equal(got, want) {
		t.Fatalf("records %q, want %q (one per request)", got, want)
	}
	if recs[0].RequestId != d.id || recs[1].RequestId != d.id || recs[2].RequestId != forged.requestID {
		t.Errorf("records name the wrong requests: %+v", recs)
	}
	// The registration reached Sysdig; the duplicate and the forgery did not.
	if recs[0].SysdigCalls < 1 || recs[1].SysdigCalls != 0 || recs[2].SysdigCalls != 0 || recs[3].SysdigCalls < 1 {
		t.Errorf("Sysdig calls per request: %v %v %v %v", recs[0].SysdigCalls, recs[1].SysdigCalls, recs[2].SysdigCalls, recs[3].SysdigCalls)
	}
	if recs[0].ThrottledCalls != 1 || recs[0].SysdigCalls < 2 {
		t.Errorf("the throttled registration counted %v throttled of %v calls, want 1 of at least 2", recs[0].ThrottledCalls, recs[0].SysdigCalls)
	}
	checkLogs(t, env, d.signature, forged.signature, deleted.signature)
}
