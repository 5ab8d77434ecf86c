package registrar

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// takenOver is a Deduplicator whose every delivery takes the request over from one that
// recorded prior and died (internal/dedupe does this with DynamoDB).
type takenOver struct{ prior string }

func (d takenOver) Claim(context.Context, customresource.Request, time.Time) (customresource.Claim, error) {
	return customresource.Claim{State: customresource.ClaimAcquired, PriorPhysicalID: d.prior,
		Progress: func(context.Context, string) error { return nil },
		Complete: func(context.Context, []byte) error { return nil }}, nil
}

// A Create taken over from a delivery that registered a provider and died before
// answering answers with that provider after one read by id, and makes no POST, which
// would get 409 for the very role this request registered. A prior id that is not this
// request's own registration (gone, another role, adopted, another Sysdig) is ignored.
func TestCreateTakenOverAfterTheRegistration(t *testing.T) {
	cases := []struct {
		name string
		// prior builds the dead delivery's recorded id, given the Sysdig URL; it may seed
		// the emulator.
		prior      func(e *env) string
		props      []any
		fault      *sysdigemu.Fault
		wantStatus string
		wantPrior  bool     // the answer names the prior provider
		wantCalls  []string // the Sysdig calls, as METHOD and path prefix
		wantReason string
		wantCount  int // providers at Sysdig afterwards
	}{
		{name: "the prior provider holds the role: answered with it, no POST",
			prior: func(e *env) string {
				return ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN}), RoleARN: roleARN}.String()
			},
			wantStatus: "SUCCESS", wantPrior: true, wantCalls: []string{"GET /api/providers/"}, wantCount: 1},
		{name: "the prior provider is gone: registered again",
			prior: func(e *env) string {
				return ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: "4242", RoleARN: roleARN}.String()
			},
			wantStatus: "SUCCESS", wantCalls: []string{"GET /api/providers/", "POST /api/providers"}, wantCount: 1},
		{name: "the prior id now holds another role: registered again, the other left alone",
			prior: func(e *env) string {
				return ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: e.emu.Seed(sysdig.ProviderSpec{RoleARN: role2ARN}), RoleARN: roleARN}.String()
			},
			wantStatus: "SUCCESS", wantCalls: []string{"GET /api/providers/", "POST /api/providers"}, wantCount: 2},
		{name: "an adopted prior is not this request's: the usual 409",
			prior: func(e *env) string {
				return ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN}), RoleARN: roleARN, Adopted: true}.String()
			},
			wantStatus: "FAILED", wantReason: "set OnExisting to Adopt", wantCount: 1},
		{name: "a prior for another Sysdig URL is ignored",
			prior: func(e *env) string {
				return ProviderRef{API: sysdig.V1, BaseURL: "https://other.example.com", ID: "1", RoleARN: roleARN}.String()
			},
			wantStatus: "SUCCESS", wantCalls: []string{"POST /api/providers"}, wantCount: 1},
		{name: "a prior for another role is ignored",
			prior: func(e *env) string {
				return ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: e.emu.Seed(sysdig.ProviderSpec{RoleARN: role2ARN}), RoleARN: role2ARN}.String()
			},
			wantStatus: "SUCCESS", wantCalls: []string{"POST /api/providers"}, wantCount: 2},
		{name: "a prior that registered nothing: the usual Create",
			prior:      func(*env) string { return NoneID("req-dead") },
			wantStatus: "SUCCESS", wantCalls: []string{"POST /api/providers"}, wantCount: 1},
		{name: "the read fails: FAILED naming the prior, for rollback's Delete",
			prior: func(e *env) string {
				return ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN}), RoleARN: roleARN}.String()
			},
			fault:      &sysdigemu.Fault{Method: http.MethodGet, Statuses: []int{403}},
			wantStatus: "FAILED", wantPrior: true, wantReason: "earlier delivery of this request", wantCount: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			prior := tc.prior(e)
			if tc.fault != nil {
				e.emu.Inject(*tc.fault)
			}
			from := len(e.emu.Requests())
			resp := createTakenOver(t, e, prior, e.props(tc.props...))
			if resp.Status != tc.wantStatus || (resp.PhysicalResourceID == prior) != tc.wantPrior || !strings.Contains(resp.Reason, tc.wantReason) {
				t.Fatalf("answer %s %q (%s); want %s, naming the prior %v, reason with %q", resp.Status, resp.PhysicalResourceID, resp.Reason, tc.wantStatus, tc.wantPrior, tc.wantReason)
			}
			if resp.Status == "SUCCESS" {
				ref, err := ParseProviderRef(resp.PhysicalResourceID)
				if err != nil || ref.Adopted || ref.RoleARN != roleARN {
					t.Fatalf("answer names %q (%v): want a provider this request created for %s", resp.PhysicalResourceID, err, roleARN)
				}
			}
			if tc.wantCalls != nil {
				got := e.calls(from)
				ok := len(got) == len(tc.wantCalls)
				for i := 0; ok && i < len(got); i++ {
					ok = strings.HasPrefix(got[i], tc.wantCalls[i])
				}
				if !ok {
					t.Fatalf("Sysdig calls %v, want %v", got, tc.wantCalls)
				}
			}
			if n := len(e.providers()); n != tc.wantCount {
				t.Fatalf("Sysdig holds %d providers, want %d", n, tc.wantCount)
			}
		})
	}
}

// createTakenOver sends a Create that a dead delivery held, having recorded prior as the
// provider it registered, and returns the one answer CloudFormation got.
func createTakenOver(t *testing.T, e *env, prior string, props map[string]any) localaws.Response {
	t.Helper()
	catcher := localaws.NewResponseCatcher()
	_, stop := catcher.Start()
	t.Cleanup(stop)
	id := fmt.Sprintf("req-%d", requestSeq.Add(1))
	fn := customresource.New(customresource.HandlerFunc(e.reg.Handle), customresource.WithDeduplicator(takenOver{prior: prior}))
	payload, _ := json.Marshal(customresource.Request{RequestType: cfn.RequestCreate, RequestID: id, ResponseURL: catcher.NewURL(id),
		ResourceType: TypeProvider, LogicalResourceID: "SysdigProvider", StackID: stackID, ResourceProperties: props})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fn.Invoke(ctx, payload); err != nil {
		t.Fatal(err)
	}
	attempts := catcher.Attempts(id)
	if len(attempts) != 1 {
		t.Fatalf("%d answers, want 1", len(attempts))
	}
	var resp localaws.Response
	if err := json.Unmarshal(attempts[0].Body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}
