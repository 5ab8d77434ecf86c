package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
)

const deployerName = "SysdigAwsConnectOrg"

// TestStackSetAuthentication runs the registrar as the Organizations deployer configures
// it and sends it, through the topic, a member's genuine requests and forgeries: only a
// stack CloudFormation confirms as the StackSet's instance for its account and region, in
// a running StackSet operation, reaches Sysdig.
func TestStackSetAuthentication(t *testing.T) {
	const member, intruder = "210987654321", "111122223333"
	env := start(t, localrun.Options{FunctionTimeout: orgFunctionTimeout(t), FunctionEnv: localrun.OrganizationEnv(deployerName)})
	stackSet := localrun.StackSetName(deployerName)
	env.CloudFormation.PutStackInstance(stackSet, localaws.StackInstance{Account: member, Region: localrun.Region, StackID: stackIDFor(member), DetailedStatus: localaws.InstanceRunning})
	topic := "arn:aws:sns:us-east-1:" + localrun.AccountID + ":sysdig-registrar"
	props := func(account string) map[string]any {
		return map[string]any{"ServiceToken": topic, "SysdigApiUrl": env.SysdigURL, "ApiTokenSecretId": env.SecretARN, "RoleArn": roleARN(account, "sysdig-role")}
	}
	timeout := orgFunctionTimeout(t)

	// The member's own stack, during the StackSet's operation: one CloudFormation call.
	created := send(t, env, request{requestType: "Create", sns: true, stackAccount: member, props: props(member)})
	checkAnswer(t, env, created, timeout, "SUCCESS", "")
	if n := env.CloudFormation.Count("DescribeStackInstance"); n != 1 {
		t.Fatalf("%d DescribeStackInstance calls for one genuine request, want 1", n)
	}
	providerID := created.resp.PhysicalResourceID
	sysdigCalls := len(env.Sysdig.Requests())

	refused := func(name string, req request) {
		t.Helper()
		out := send(t, env, req)
		checkAnswer(t, env, out, timeout, "FAILED", "refused")
		if n := len(env.Sysdig.Requests()); n != sysdigCalls {
			t.Fatalf("%s: the refused request made %d Sysdig calls", name, n-sysdigCalls)
		}
		if ps := env.Sysdig.Providers(); len(ps) != 1 {
			t.Fatalf("%s: Sysdig holds %d providers, want the member's only", name, len(ps))
		}
	}
	// Another account, which has no stack instance, registers itself or removes the member.
	refused("forged create", request{requestType: "Create", sns: true, stackAccount: intruder, props: props(intruder)})
	refused("forged delete", request{requestType: "Delete", sns: true, stackAccount: intruder, physicalID: providerID, props: props(member)})
	// A request naming the deployer's own stack never comes through the topic.
	before := env.CloudFormation.Count("DescribeStackInstance")
	refused("deployer through the topic", request{requestType: "Delete", sns: true, stackID: localrun.StackID(deployerName), physicalID: providerID, props: props(member)})
	if env.CloudFormation.Count("DescribeStackInstance") != before {
		t.Fatal("a request naming the deployer was checked with CloudFormation instead of refused outright")
	}
	// Another stack of the deployer's account is no stack instance either.
	refused("another stack of the deployer's account", request{requestType: "Delete", sns: true, stackAccount: localrun.AccountID, physicalID: providerID, props: props(member)})

	// Between StackSet operations the member's real stack id is refused too: nobody can
	// replay it to remove the member.
	env.CloudFormation.SetDetailedStatus(stackSet, member, localrun.Region, localaws.InstanceSucceeded)
	refused("delete outside an operation", request{requestType: "Delete", sns: true, stackAccount: member, physicalID: providerID, props: props(member)})
	refused("update outside an operation", request{requestType: "Update", sns: true, stackAccount: member, physicalID: providerID, props: props(member), old: props(member)})

	var logged bool
	for _, line := range env.Logs() {
		if strings.Contains(line, `"msg":"request refused"`) && strings.Contains(line, `"claimed_account":"`+intruder+`"`) {
			logged = true
		}
	}
	if !logged {
		t.Fatal("no log line records the refusal with the claimed account")
	}

	// The StackSet deletes the member: the same request now passes.
	env.CloudFormation.SetDetailedStatus(stackSet, member, localrun.Region, localaws.InstanceRunning)
	deleted := send(t, env, request{requestType: "Delete", sns: true, stackAccount: member, physicalID: providerID, props: props(member)})
	checkAnswer(t, env, deleted, timeout, "SUCCESS", "")
	if ps := env.Sysdig.Providers(); len(ps) != 0 {
		t.Fatalf("after the member's deletion Sysdig holds %+v", ps)
	}
	// 1 per genuine request, up to 4 per refused one (none when the deployer is named).
	t.Logf("DescribeStackInstance calls: %d for 2 genuine and 6 refused requests", env.CloudFormation.Count("DescribeStackInstance"))
}

// connectRecorder is an HTTPS proxy that records the hosts the function tries to reach
// and lets none through.
type connectRecorder struct {
	mu    sync.Mutex
	hosts []string
}

func (p *connectRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.hosts = append(p.hosts, r.Host)
	p.mu.Unlock()
	http.Error(w, "not through this proxy", http.StatusForbidden)
}

func (p *connectRecorder) seen(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.hosts {
		if strings.HasPrefix(h, host+":") || h == host {
			return true
		}
	}
	return false
}

// TestAnswersOnlyToCloudFormation gives the real bootstrap requests whose ResponseURL is
// not CloudFormation's. The function's HTTPS goes through a recording proxy (loopback
// endpoints bypass it), so any PUT attempt would show: none is made, nothing reaches
// Sysdig, and the log names the host without the signature. CloudFormation's own host, as
// a control, does get the PUT attempts.
func TestAnswersOnlyToCloudFormation(t *testing.T) {
	proxy := &connectRecorder{}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	env := start(t, localrun.Options{FunctionTimeout: 20 * time.Second, FunctionEnv: map[string]string{"HTTPS_PROXY": srv.URL, "HTTP_PROXY": srv.URL}})

	const evilHost = "attacker.example"
	const cfnHost = "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"
	const signature = "X-Amz-Signature=e2etopsecretsignature"
	invoke := func(requestType, responseURL string, sns bool) {
		t.Helper()
		body := map[string]any{
			"RequestType": requestType, "RequestId": "auth-" + requestType + "-" + time.Now().Format("150405.000000"), "ResponseURL": responseURL,
			"ResourceType": "Custom::SysdigProvider", "LogicalResourceId": "SysdigProvider", "StackId": stackIDFor(localrun.AccountID),
			"ResourceProperties": providerProps(env), "PhysicalResourceId": "p",
		}
		if requestType == "Create" {
			delete(body, "PhysicalResourceId")
		}
		payload, _ := json.Marshal(body)
		if sns {
			payload, _ = json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "Sns": map[string]any{
				"TopicArn": "arn:aws:sns:us-east-1:" + localrun.AccountID + ":sysdig-registrar", "Message": string(payload)}}}})
		}
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := env.Function.Invoke(c, payload); err != nil {
			t.Fatalf("invoke: %v", err)
		}
	}
	evil := "https://" + evilHost + "/collect?" + signature
	invoke("Create", evil, false)
	invoke("Delete", evil, true)
	invoke("Destroy", evil, false) // malformed, but with a URL to answer to
	if proxy.seen(evilHost) {
		t.Fatal("the function tried to reach a ResponseURL outside CloudFormation")
	}
	if n := len(env.Sysdig.Requests()); n != 0 {
		t.Fatalf("a request without a CloudFormation ResponseURL made %d Sysdig calls", n)
	}
	countDrops := func(lines []string) (n int) {
		for _, line := range lines {
			if strings.Contains(line, `"response_host":"`+evilHost+`"`) {
				n++
			}
		}
		return n
	}
	dropped := 0
	for _, line := range logsUntil(env, func(lines []string) bool { return countDrops(lines) >= 3 }) {
		if strings.Contains(line, "e2etopsecretsignature") {
			t.Fatalf("a log line holds the signature: %.300s", line)
		}
		if strings.Contains(line, `"response_host":"`+evilHost+`"`) {
			dropped++
		}
	}
	if dropped != 3 {
		t.Fatalf("%d drops logged with the host, want 3", dropped)
	}

	// CloudFormation's bucket named first, then left by an (encoded) dot-dot segment.
	const pathStyleHost = "s3.amazonaws.com"
	invoke("Create", "https://"+pathStyleHost+"/cloudformation-custom-resource-response-useast1/%2e%2E/attacker-bucket/x?"+signature, false)
	if proxy.seen(pathStyleHost) {
		t.Fatal("the function answered to a ResponseURL with a dot-dot segment")
	}
	dots := false
	for _, line := range env.Logs() {
		dots = dots || strings.Contains(line, "has a . or .. path segment")
	}
	if !dots || len(env.Sysdig.Requests()) != 0 {
		t.Fatalf("the dot-dot ResponseURL was not dropped with its reason (%d Sysdig calls)", len(env.Sysdig.Requests()))
	}

	// Control: a malformed request with CloudFormation's URL is answered FAILED, so the
	// function tries its PUT, through the proxy, without calling Sysdig.
	invoke("Destroy", "https://"+cfnHost+"/arn/x?"+signature, false)
	if !proxy.seen(cfnHost) {
		t.Fatal("the control PUT to CloudFormation's host did not reach the proxy: the test cannot see PUTs")
	}
}
