package registrar

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// Regression (review of issue 9): a provider registered by hand before the stack,
// OnExisting=Fail, and a POST answered by a gateway 502 (Sysdig did nothing). Whatever the
// Create answers, the stack's Delete must leave the hand-made provider alone.
func TestPreexistingProviderSurvivesUnclearCreate(t *testing.T) {
	for _, statuses := range [][]int{{502}, {502, 502, 502, 502, 502, 502, 502, 502}} {
		t.Run(fmt.Sprint(len(statuses)), func(t *testing.T) {
			e := newEnv(t, nil)
			seeded := e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN, Alias: "by hand"})
			e.emu.Inject(sysdigemu.Fault{Method: http.MethodPost, Statuses: statuses})
			res, err := e.create(e.props())
			t.Logf("create: physical id %q, err %v", res.PhysicalResourceID, err)
			if _, derr := e.delete(res.PhysicalResourceID, e.props()); derr != nil {
				t.Logf("delete: %v", derr)
			}
			for _, p := range e.providers() {
				if p.ID == seeded {
					return
				}
			}
			t.Fatalf("the provider made by hand (%s) was deregistered by the stack's Delete; Sysdig holds %+v", seeded, e.providers())
		})
	}
}

// losePOSTAnswers lets Sysdig register while the answer to the POST is lost: a 502 in
// place of the answer, or no answer until the caller gives up. armed switches it on.
func losePOSTAnswers(armed *atomic.Bool, hang bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !armed.Load() {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r) // Sysdig registers it...
			if hang {                                 // ...and the answer is lost.
				<-r.Context().Done()
				return
			}
			armed.Store(false)
			w.WriteHeader(http.StatusBadGateway)
		})
	}
}

// A provider found by role after a registration whose outcome was unclear is the
// stack's own only when a look-up before the POST proved the role free
// (OnExisting=Adopt). Otherwise it may have existed before the stack: it is recorded as
// adopted, so no Delete (stack deletion, rollback, a replacement's cleanup) removes it,
// and the log says how to remove it by hand. A provider the lost POST did register then
// outlives the stack: that is the price, and the log says so.
func TestProviderFoundAfterUnclearRegistration(t *testing.T) {
	const (
		gateway502  = "gateway 502, Sysdig did nothing"
		gatewayHang = "no answer before the deadline, Sysdig did nothing"
		lost502     = "Sysdig registered, the answer became a 502"
		lostHang    = "Sysdig registered, no answer before the deadline"
	)
	cases := []struct {
		name        string
		onExisting  string
		preexisting bool // a provider for the role made by hand before the stack
		unclear     string
		replacing   bool // the registration is a replacing Update's (RoleArn changed)
		wantErr     string
		wantAdopted bool
		wantKept    bool // the provider for the role is still at Sysdig after the stack's Delete
		wantUndone  bool // a failed replacement removed what it registered before answering
	}{
		{name: "Fail, pre-existing, 502", onExisting: "Fail", preexisting: true, unclear: gateway502, wantAdopted: true, wantKept: true},
		{name: "Fail, pre-existing, deadline", onExisting: "Fail", preexisting: true, unclear: gatewayHang, wantErr: "may have existed before", wantAdopted: true, wantKept: true},
		{name: "Fail, lost POST, 502", onExisting: "Fail", unclear: lost502, wantAdopted: true, wantKept: true},
		{name: "Fail, lost POST, deadline", onExisting: "Fail", unclear: lostHang, wantErr: "may have existed before", wantAdopted: true, wantKept: true},
		{name: "Adopt, lost POST, 502", onExisting: "Adopt", unclear: lost502},
		{name: "Adopt, lost POST, deadline", onExisting: "Adopt", unclear: lostHang, wantErr: "registered it all the same"},
		{name: "replacing Update, Fail, pre-existing, 502", onExisting: "Fail", preexisting: true, unclear: gateway502, replacing: true, wantAdopted: true, wantKept: true},
		{name: "replacing Update, Fail, pre-existing, deadline", onExisting: "Fail", preexisting: true, unclear: gatewayHang, replacing: true, wantErr: "may have existed before", wantAdopted: true, wantKept: true},
		{name: "replacing Update, Fail, lost POST, 502", onExisting: "Fail", unclear: lost502, replacing: true, wantAdopted: true, wantKept: true},
		{name: "replacing Update, Fail, lost POST, deadline", onExisting: "Fail", unclear: lostHang, replacing: true, wantErr: "may have existed before", wantAdopted: true, wantKept: true},
		{name: "replacing Update, Adopt, lost POST, 502", onExisting: "Adopt", unclear: lost502, replacing: true},
		{name: "replacing Update, Adopt, lost POST, deadline", onExisting: "Adopt", unclear: lostHang, replacing: true, wantErr: "registered it all the same", wantUndone: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var armed atomic.Bool
			e := newEnv(t, losePOSTAnswers(&armed, tc.unclear == lostHang))
			role := roleARN
			var oldProps map[string]any
			var old customresource.Result
			if tc.replacing {
				// The stack's provider for the first role exists; the Update moves to another.
				oldProps = e.props(PropOnExisting, tc.onExisting)
				old = e.mustCreate(oldProps)
				role = role2ARN
			}
			props := e.props(PropOnExisting, tc.onExisting, PropRoleARN, role)
			seeded := ""
			if tc.preexisting {
				seeded = e.emu.Seed(sysdig.ProviderSpec{RoleARN: role, Alias: "by hand"})
			}
			timeout := 20 * time.Second
			switch tc.unclear {
			case gateway502:
				e.emu.Inject(sysdigemu.Fault{Method: http.MethodPost, Statuses: []int{502}})
			case gatewayHang:
				e.emu.Inject(sysdigemu.Fault{Method: http.MethodPost, Hang: true})
				timeout = 500 * time.Millisecond
			case lostHang:
				timeout = 500 * time.Millisecond
			}
			armed.Store(tc.unclear == lost502 || tc.unclear == lostHang)
			logStart := len(e.logs.String())

			typ := cfn.RequestCreate
			if tc.replacing {
				typ = cfn.RequestUpdate
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			res, err := e.reg.Handle(ctx, customresource.Request{RequestType: typ, RequestID: "r-" + tc.name, ResourceType: TypeProvider,
				LogicalResourceID: "P", StackID: stackID, PhysicalResourceID: old.PhysicalResourceID, ResourceProperties: props, OldResourceProperties: oldProps})
			armed.Store(false)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("%s: %v", typ, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("%s: error %v, want %q", typ, err, tc.wantErr)
			}

			held := providerFor(e, role)
			if tc.wantUndone {
				if held != "" || res.PhysicalResourceID != old.PhysicalResourceID {
					t.Fatalf("failed replacement answered %q and left %s at Sysdig; want the old id and nothing left", res.PhysicalResourceID, held)
				}
				return
			}
			if held == "" {
				t.Fatalf("no provider for %s at Sysdig after the %s: %+v", role, typ, e.providers())
			}
			if seeded != "" && held != seeded {
				t.Fatalf("Sysdig registered %s a second time: %+v", role, e.providers())
			}
			switch {
			case tc.replacing && err != nil:
				// A failed Update keeps the old id: nothing names the found provider.
				if res.PhysicalResourceID != old.PhysicalResourceID {
					t.Fatalf("failed Update answered %q, want the old id", res.PhysicalResourceID)
				}
			default:
				ref := refOf(t, res)
				if ref.ID != held || ref.RoleARN != role || ref.Adopted != tc.wantAdopted {
					t.Fatalf("answer %+v, want provider %s with adopted=%v", ref, held, tc.wantAdopted)
				}
				// A provider kept as found is not changed: Data tells its own alias.
				if wantAlias := map[bool]string{true: "by hand", false: DefaultAlias}[tc.preexisting]; err == nil && res.Data["Alias"] != wantAlias {
					t.Errorf("Data.Alias = %v, want %q", res.Data["Alias"], wantAlias)
				}
			}
			logs := e.logs.String()[logStart:]
			if tc.wantAdopted && !strings.Contains(logs, " deregister "+held+" --role-arn arn:aws:iam::") {
				t.Errorf("the log does not say how to remove provider %s by hand:\n%s", held, logs)
			}
			if !tc.wantAdopted && strings.Contains(logs, "may have existed before") {
				t.Errorf("a provider proved to be this request's is reported as maybe someone else's:\n%s", logs)
			}
			if tc.wantErr == "may have existed before" && !strings.Contains(err.Error(), " deregister "+held+" --role-arn arn:aws:iam::") {
				t.Errorf("the reason does not say how to remove provider %s by hand: %v", held, err)
			}

			// What CloudFormation sends next: a replacement's cleanup Delete of the old id,
			// then (stack deletion or rollback) a Delete of the id this request answered.
			if tc.replacing && err == nil {
				if _, err := e.delete(old.PhysicalResourceID, oldProps); err != nil {
					t.Fatalf("cleanup delete: %v", err)
				}
				if p := providerFor(e, roleARN); p != "" {
					t.Fatalf("the replaced provider %s was not removed by the cleanup", p)
				}
			}
			if _, err := e.delete(res.PhysicalResourceID, props); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if kept := providerFor(e, role) == held; kept != tc.wantKept {
				t.Fatalf("after the stack's Delete, provider %s kept=%v, want %v; Sysdig holds %+v", held, kept, tc.wantKept, e.providers())
			}
		})
	}
}

// providerFor is the id of the provider Sysdig holds for role, or "".
func providerFor(e *env, role string) string {
	for _, p := range e.providers() {
		if sysdig.SameRole(p.RoleARN, role) {
			return p.ID
		}
	}
	return ""
}
