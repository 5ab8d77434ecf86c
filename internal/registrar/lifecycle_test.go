package registrar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/testutil"
)

const (
	account   = "123456789012"
	stackID   = "arn:aws:cloudformation:us-east-1:" + account + ":stack/sysdig/0a1b"
	roleARN   = "arn:aws:iam::" + account + ":role/sysdig-role"
	role2ARN  = "arn:aws:iam::" + account + ":role/sysdig-role-2"
	secretID  = "sysdig/api-token"
	otherRole = "arn:aws:iam::210987654321:role/sysdig-role"
)

// tokens is a TokenSource over a map that counts its reads.
type tokens struct {
	values map[string]string
	reads  atomic.Int32
}

func (t *tokens) Token(_ context.Context, id string) (string, error) {
	t.reads.Add(1)
	v, ok := t.values[id]
	if !ok {
		return "", fmt.Errorf("secret %s not found", id)
	}
	return v, nil
}

type env struct {
	t      *testing.T
	emu    *sysdigemu.Server
	url    string
	tokens *tokens
	reg    *Registrar
	logs   *testutil.SyncBuffer
}

// newEnv starts the Sysdig emulator (optionally behind middleware) and a Registrar that
// talks to it with the real client, fast retries and a map of tokens.
func newEnv(t *testing.T, middleware func(http.Handler) http.Handler, opts ...sysdigemu.Option) *env {
	t.Helper()
	emu := sysdigemu.New(opts...)
	var h http.Handler = emu
	if middleware != nil {
		h = middleware(emu)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	e := &env{t: t, emu: emu, url: srv.URL, tokens: &tokens{values: map[string]string{secretID: sysdigemu.DefaultToken}}, logs: &testutil.SyncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.reg = New(e.tokens, WithLogger(logger), WithRolePropagationWait(2*time.Second, 5*time.Millisecond),
		WithSysdigFactory(func(baseURL, token string, skip bool) (Sysdig, error) {
			return sysdig.New(baseURL, token, sysdig.WithRetry(time.Millisecond, 20*time.Millisecond, 6),
				sysdig.WithRequestTimeout(2*time.Second), sysdig.WithLogger(logger))
		}))
	return e
}

func (e *env) props(kv ...any) map[string]any {
	base := map[string]any{
		"ServiceToken":       "arn:aws:lambda:us-east-1:" + account + ":function:sysdig",
		PropSysdigAPIURL:     e.url,
		PropAPITokenSecretID: secretID,
		PropRoleARN:          roleARN,
	}
	return with(base, kv...)
}

var requestSeq atomic.Int64

func (e *env) do(typ cfn.RequestType, resourceType, physicalID string, props, old map[string]any) (customresource.Result, error) {
	e.t.Helper()
	req := customresource.Request{
		RequestType:           typ,
		RequestID:             fmt.Sprintf("req-%d", requestSeq.Add(1)),
		ResponseURL:           "https://example.invalid/response",
		ResourceType:          resourceType,
		LogicalResourceID:     "SysdigProvider",
		StackID:               stackID,
		PhysicalResourceID:    physicalID,
		ResourceProperties:    props,
		OldResourceProperties: old,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return e.reg.Handle(ctx, req)
}

func (e *env) create(props map[string]any) (customresource.Result, error) {
	return e.do(cfn.RequestCreate, TypeProvider, "", props, nil)
}

func (e *env) update(id string, props, old map[string]any) (customresource.Result, error) {
	return e.do(cfn.RequestUpdate, TypeProvider, id, props, old)
}

func (e *env) delete(id string, props map[string]any) (customresource.Result, error) {
	return e.do(cfn.RequestDelete, TypeProvider, id, props, nil)
}

func (e *env) mustCreate(props map[string]any) customresource.Result {
	e.t.Helper()
	res, err := e.create(props)
	if err != nil {
		e.t.Fatalf("create: %v", err)
	}
	return res
}

func (e *env) providers() []sysdigemu.StoredProvider { return e.emu.Providers() }

// writes counts the API calls that change something: those Sysdig accepted (a refused
// POST, 409 say, changes nothing).
func (e *env) writes() []string {
	var out []string
	for _, r := range e.emu.Requests() {
		if r.Method != http.MethodGet && r.Status >= 200 && r.Status <= 299 {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// withoutStatus makes the create and update answers carry no status, as a tenant might:
// the function then reads the provider back, and faults on that read apply.
func withoutStatus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var doc map[string]map[string]any
		if json.Unmarshal(body, &doc) == nil && doc["provider"] != nil {
			delete(doc["provider"], "status")
			body, _ = json.Marshal(doc)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func refOf(t *testing.T, res customresource.Result) ProviderRef {
	t.Helper()
	ref, err := ParseProviderRef(res.PhysicalResourceID)
	if err != nil {
		t.Fatalf("physical id %q: %v", res.PhysicalResourceID, err)
	}
	return ref
}

func TestCreateRegistersAndReports(t *testing.T) {
	for _, api := range []string{"v1", "v2"} {
		t.Run(api, func(t *testing.T) {
			e := newEnv(t, nil)
			res := e.mustCreate(e.props(PropAlias, "prod", PropRegions, "us-east-1,eu-west-1", PropProviderAPI, api))
			ref := refOf(t, res)
			ps := e.providers()
			if len(ps) != 1 || ps[0].ID != ref.ID || ps[0].RoleARN != roleARN || ps[0].Alias != "prod" ||
				!slices.Equal(ps[0].Regions, []string{"EU_WEST_1", "US_EAST_1"}) {
				t.Fatalf("Sysdig holds %+v", ps)
			}
			if res.Data["ProviderId"] != ref.ID || res.Data["Status"] != "configured" || res.Data["Alias"] != "prod" {
				t.Fatalf("Data %v", res.Data)
			}
			if string(ref.API) != api || ref.RoleARN != roleARN {
				t.Fatalf("ref %+v", ref)
			}
		})
	}
}

func TestCreateValidatesBeforeAnyCall(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name  string
		props map[string]any
		want  string
	}{
		{"bad region", e.props(PropRegions, "us-east-1,atlantis-1"), "property Regions"},
		{"bad url", e.props(PropSysdigAPIURL, "http://sysdig.example.com"), "property SysdigApiUrl"},
		{"missing role", e.props(PropRoleARN, nil), "property RoleArn"},
		{"role of another account", e.props(PropRoleARN, otherRole), "refused: RoleArn"},
		{"unknown property", e.props("Alais", "x"), "property Alais"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.create(tc.props)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if _, perr := ParseProviderRef(res.PhysicalResourceID); !errors.Is(perr, ErrNotAProvider) {
				t.Fatalf("failed create answered %q, which names a provider", res.PhysicalResourceID)
			}
		})
	}
	if len(e.emu.Requests()) != 0 || e.tokens.reads.Load() != 0 {
		t.Fatalf("invalid input reached Sysdig (%d requests) or the secret (%d reads)", len(e.emu.Requests()), e.tokens.reads.Load())
	}
}

// Datadog #124: a registration that existed before the stack survives a failed Create and
// its rollback Delete.
func TestExistingRegistrationSurvivesFailedCreateAndRollback(t *testing.T) {
	e := newEnv(t, nil)
	seeded := e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN, Alias: "by hand"})
	res, err := e.create(e.props())
	if err == nil || !strings.Contains(err.Error(), "OnExisting to Adopt") || !strings.Contains(err.Error(), seeded) {
		t.Fatalf("create over an existing registration: %v", err)
	}
	if _, err := e.delete(res.PhysicalResourceID, e.props()); err != nil {
		t.Fatalf("rollback delete: %v", err)
	}
	ps := e.providers()
	if len(ps) != 1 || ps[0].ID != seeded || ps[0].Alias != "by hand" {
		t.Fatalf("the pre-existing registration did not survive: %+v", ps)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("writes to Sysdig: %v", w)
	}
}

func TestAdoptExisting(t *testing.T) {
	e := newEnv(t, nil)
	seeded := e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN, Alias: "by hand"})
	res := e.mustCreate(e.props(PropOnExisting, "Adopt", PropAlias, "managed"))
	if ref := refOf(t, res); ref.ID != seeded {
		t.Fatalf("adopted %s, want %s", ref.ID, seeded)
	}
	if ps := e.providers(); len(ps) != 1 || ps[0].Alias != "managed" {
		t.Fatalf("after adopt: %+v", ps)
	}
	if !refOf(t, res).Adopted {
		t.Fatalf("the physical id %q does not say adopted", res.PhysicalResourceID)
	}
	if _, err := e.delete(res.PhysicalResourceID, e.props()); err != nil {
		t.Fatal(err)
	}
	if ps := e.providers(); len(ps) != 1 || ps[0].ID != seeded {
		t.Fatalf("an adopted provider existed before the stack and must outlive it: %+v", ps)
	}
}

func TestAllowedURLsAndSecrets(t *testing.T) {
	e := newEnv(t, nil)
	allowed := New(e.tokens, WithAllowedAPIURLs(e.url+"/"), WithAllowedTokenSecrets(secretID), WithSkipTLSVerifyAllowed(false),
		WithLogger(slog.New(slog.NewJSONHandler(e.logs, nil))),
		WithSysdigFactory(func(baseURL, token string, skip bool) (Sysdig, error) { return sysdig.New(baseURL, token) }))
	cases := []struct {
		name  string
		props map[string]any
		want  string
	}{
		{"another Sysdig URL", e.props(PropSysdigAPIURL, "https://attacker.example"), "sends the Sysdig token only to " + e.url},
		{"another secret", e.props(PropAPITokenSecretID, "arn:aws:secretsmanager:us-east-1:"+account+":secret:other"), "reads the Sysdig token only from"},
		{"TLS verification off", e.props(PropSkipTLSVerify, "true"), "SkipTlsVerify is true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := allowed.Handle(context.Background(), customresource.Request{RequestType: cfn.RequestCreate, RequestID: "r", ResourceType: TypeExternalID,
				LogicalResourceID: "E", StackID: stackID, ResourceProperties: map[string]any{PropSysdigAPIURL: tc.props[PropSysdigAPIURL],
					PropAPITokenSecretID: tc.props[PropAPITokenSecretID], PropSkipTLSVerify: tc.props[PropSkipTLSVerify]}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	// A Delete naming a provider at another URL (the cleanup after the stack moved to
	// another Sysdig, or a forged request) touches nothing and does not block the stack:
	// the provider is left for a person, and the log says how to remove it.
	ref := ProviderRef{API: sysdig.V1, BaseURL: "https://attacker.example", ID: "1", RoleARN: roleARN}
	_, err := allowed.Handle(context.Background(), customresource.Request{RequestType: cfn.RequestDelete, RequestID: "r", ResourceType: TypeProvider,
		LogicalResourceID: "P", StackID: stackID, PhysicalResourceID: ref.String(), ResourceProperties: e.props()})
	if err != nil || !strings.Contains(e.logs.String(), "sysdig-connect --api-url ") {
		t.Fatalf("delete at another URL: %v; logs %s", err, e.logs.String())
	}
	if e.tokens.reads.Load() != 0 || len(e.emu.Requests()) != 0 {
		t.Fatal("a refused request read the token or called Sysdig")
	}
	if _, err := allowed.Handle(context.Background(), customresource.Request{RequestType: cfn.RequestCreate, RequestID: "r2", ResourceType: TypeProvider,
		LogicalResourceID: "P", StackID: stackID, ResourceProperties: e.props()}); err != nil {
		t.Fatalf("the allowed URL and secret: %v", err)
	}
}

// The registration happened but its answer never came back before the deadline: the
// FAILED answer must still name it, so rollback removes it. That holds when a look-up
// before the POST proved the role free (OnExisting=Adopt); with Fail the provider found
// is kept as adopted instead (TestProviderFoundAfterUnclearRegistration).
func TestRegistrationWhoseAnswerWasLost(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	middleware := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r) // Sysdig registers it...
			select {                                  // ...and the answer is lost.
			case <-r.Context().Done():
			case <-release:
			}
		})
	}
	e := newEnv(t, middleware)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := e.reg.Handle(ctx, customresource.Request{RequestType: cfn.RequestCreate, RequestID: "r-lost", ResourceType: TypeProvider,
		LogicalResourceID: "P", StackID: stackID, ResourceProperties: e.props(PropOnExisting, "Adopt")})
	if err == nil || !strings.Contains(err.Error(), "registered it all the same") {
		t.Fatalf("error %v", err)
	}
	ps := e.providers()
	if len(ps) != 1 || refOf(t, res).ID != ps[0].ID {
		t.Fatalf("answer %q, Sysdig %+v: the answer must name what Sysdig holds", res.PhysicalResourceID, ps)
	}
}

// An in-place update must not overwrite a provider id that now holds another role.
func TestUpdateWhenTheIDHoldsAnotherRole(t *testing.T) {
	e := newEnv(t, nil)
	old := e.props(PropAlias, "a")
	created := e.mustCreate(old)
	id := refOf(t, created).ID
	outside, err := sysdig.New(e.url, sysdigemu.DefaultToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outside.UpdateProvider(context.Background(), sysdig.V1, id, sysdig.ProviderSpec{RoleARN: role2ARN, Alias: "someone else"}); err != nil {
		t.Fatal(err)
	}
	res, err := e.update(created.PhysicalResourceID, e.props(PropAlias, "b"), old)
	if err != nil {
		t.Fatal(err)
	}
	if refOf(t, res).ID == id {
		t.Fatal("updated a provider that holds another role")
	}
	if _, err := e.delete(created.PhysicalResourceID, old); err != nil {
		t.Fatal(err)
	}
	byRole := map[string]string{}
	for _, p := range e.providers() {
		byRole[p.RoleARN] = p.Alias
	}
	if byRole[role2ARN] != "someone else" || byRole[roleARN] != "b" || len(byRole) != 2 {
		t.Fatalf("Sysdig holds %v", byRole)
	}
}

func TestCreateThatFailsAfterRegisteringNamesTheProvider(t *testing.T) {
	// The create answer lacks the status, so the provider is read back, and every
	// read-back fails: the registration exists, the Create fails.
	e := newEnv(t, withoutStatus)
	e.emu.Inject(sysdigemu.Fault{Method: http.MethodGet, PathPrefix: "/api/providers/", Statuses: []int{500, 500, 500, 500, 500, 500}})
	res, err := e.create(e.props())
	if err == nil || !strings.Contains(err.Error(), "could not read it back") {
		t.Fatalf("create: %v", err)
	}
	ref := refOf(t, res)
	if ps := e.providers(); len(ps) != 1 || ps[0].ID != ref.ID {
		t.Fatalf("Sysdig holds %+v, answer names %s", ps, ref.ID)
	}
	// Rollback removes it.
	if _, err := e.delete(res.PhysicalResourceID, e.props()); err != nil {
		t.Fatal(err)
	}
	if ps := e.providers(); len(ps) != 0 {
		t.Fatalf("rollback left %+v", ps)
	}
}

func TestUpdateInPlace(t *testing.T) {
	e := newEnv(t, nil)
	old := e.props(PropAlias, "a", PropRegions, "us-east-1")
	created := e.mustCreate(old)
	newProps := e.props(PropAlias, "b", PropRegions, []any{"us-east-1", "us-west-2"})
	res, err := e.update(created.PhysicalResourceID, newProps, old)
	if err != nil {
		t.Fatal(err)
	}
	if res.PhysicalResourceID != created.PhysicalResourceID {
		t.Fatalf("in-place update changed the id: %s -> %s", created.PhysicalResourceID, res.PhysicalResourceID)
	}
	ps := e.providers()
	if len(ps) != 1 || ps[0].Alias != "b" || !slices.Equal(ps[0].Regions, []string{"US_EAST_1", "US_WEST_2"}) {
		t.Fatalf("Sysdig holds %+v", ps)
	}
	if res.Data["Alias"] != "b" || res.Data["Status"] != "configured" {
		t.Fatalf("Data %v", res.Data)
	}
}

func TestUpdateWithNothingRelevantMakesNoCall(t *testing.T) {
	e := newEnv(t, nil)
	old := e.props(PropRegions, "us-east-1,us-east-2")
	created := e.mustCreate(old)
	before := len(e.emu.Requests())
	reads := e.tokens.reads.Load()
	// Same regions in another order and form, a changed delete policy: nothing Sysdig holds.
	res, err := e.update(created.PhysicalResourceID, e.props(PropRegions, []any{"US_EAST_2", "us-east-1"}, PropDeregisterOnDelete, "false"), old)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.emu.Requests()) != before || e.tokens.reads.Load() != reads {
		t.Fatal("an update that changed nothing Sysdig holds made calls")
	}
	if res.PhysicalResourceID != created.PhysicalResourceID || res.Data["Status"] != StatusUnchanged {
		t.Fatalf("result %+v", res)
	}
}

func TestUpdateWithReplacementThenCleanup(t *testing.T) {
	e := newEnv(t, nil)
	old := e.props()
	created := e.mustCreate(old)
	res, err := e.update(created.PhysicalResourceID, e.props(PropRoleARN, role2ARN), old)
	if err != nil {
		t.Fatal(err)
	}
	newRef, oldRef := refOf(t, res), refOf(t, created)
	if newRef.ID == oldRef.ID || newRef.RoleARN != role2ARN {
		t.Fatalf("replacement: old %+v new %+v", oldRef, newRef)
	}
	if ps := e.providers(); len(ps) != 2 {
		t.Fatalf("before cleanup Sysdig should hold both: %+v", ps)
	}
	// CloudFormation's cleanup: Delete of the old id with the old properties.
	if _, err := e.delete(created.PhysicalResourceID, old); err != nil {
		t.Fatal(err)
	}
	ps := e.providers()
	if len(ps) != 1 || ps[0].ID != newRef.ID || ps[0].RoleARN != role2ARN {
		t.Fatalf("after cleanup Sysdig holds %+v", ps)
	}
}

func TestFailedReplacementLeavesNothingAndRollsBack(t *testing.T) {
	// Answers without the status: the replacement reads its new provider back, and fails there.
	e := newEnv(t, withoutStatus)
	old := e.props()
	created := e.mustCreate(old)
	failing := e.props(PropRoleARN, role2ARN)
	e.emu.Inject(sysdigemu.Fault{Method: http.MethodGet, PathPrefix: "/api/providers/", Statuses: []int{503, 503, 503, 503, 503, 503}})
	res, err := e.update(created.PhysicalResourceID, failing, old)
	if err == nil || res.PhysicalResourceID != created.PhysicalResourceID {
		t.Fatalf("failed update answered %q, %v; want the old id and an error", res.PhysicalResourceID, err)
	}
	if ps := e.providers(); len(ps) != 1 || ps[0].RoleARN != roleARN {
		t.Fatalf("failed replacement left %+v", ps)
	}
	// CloudFormation rolls back with old and new swapped: nothing to replace, no new provider.
	rb, err := e.update(created.PhysicalResourceID, old, failing)
	if err != nil || rb.PhysicalResourceID != created.PhysicalResourceID {
		t.Fatalf("rollback update: %q %v", rb.PhysicalResourceID, err)
	}
	if ps := e.providers(); len(ps) != 1 || ps[0].RoleARN != roleARN {
		t.Fatalf("after rollback Sysdig holds %+v", ps)
	}
}

func TestFailedInPlaceUpdateRollsBack(t *testing.T) {
	e := newEnv(t, nil)
	old := e.props(PropAlias, "a")
	created := e.mustCreate(old)
	failing := e.props(PropAlias, "b")
	e.emu.Inject(sysdigemu.Fault{Method: http.MethodPut, Statuses: []int{400}})
	if _, err := e.update(created.PhysicalResourceID, failing, old); err == nil {
		t.Fatal("update should fail on 400")
	}
	if _, err := e.update(created.PhysicalResourceID, old, failing); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if ps := e.providers(); len(ps) != 1 || ps[0].Alias != "a" {
		t.Fatalf("after rollback: %+v", ps)
	}
}

func TestUpdateProviderAPIKeepsTheOneProvider(t *testing.T) {
	e := newEnv(t, nil)
	old := e.props(PropProviderAPI, "v1")
	created := e.mustCreate(old)
	res, err := e.update(created.PhysicalResourceID, e.props(PropProviderAPI, "v2", PropAlias, "via-v2"), old)
	if err != nil {
		t.Fatal(err)
	}
	if res.PhysicalResourceID != created.PhysicalResourceID {
		t.Fatal("switching API for the same role and tenant must keep the provider (CloudFormation would delete it)")
	}
	if ps := e.providers(); len(ps) != 1 || ps[0].Alias != "via-v2" {
		t.Fatalf("Sysdig holds %+v", ps)
	}
}

func TestUpdateWhenSysdigLostTheProviderRegistersAgain(t *testing.T) {
	e := newEnv(t, nil)
	old := e.props(PropAlias, "a")
	created := e.mustCreate(old)
	// Someone removes it at Sysdig, outside CloudFormation.
	outside, err := sysdig.New(e.url, sysdigemu.DefaultToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := outside.DeleteProvider(context.Background(), sysdig.V1, refOf(t, created).ID); err != nil {
		t.Fatal(err)
	}
	res, err := e.update(created.PhysicalResourceID, e.props(PropAlias, "b"), old)
	if err != nil {
		t.Fatal(err)
	}
	if res.PhysicalResourceID == created.PhysicalResourceID {
		t.Fatal("a re-registered provider needs a new id")
	}
	if ps := e.providers(); len(ps) != 1 || ps[0].Alias != "b" {
		t.Fatalf("Sysdig holds %+v", ps)
	}
	if _, err := e.delete(created.PhysicalResourceID, old); err != nil {
		t.Fatalf("cleanup of the lost provider: %v", err)
	}
	if ps := e.providers(); len(ps) != 1 {
		t.Fatalf("cleanup removed the new provider: %+v", ps)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t, nil)
	created := e.mustCreate(e.props())

	// Twice: the second finds nothing and succeeds.
	for i := 0; i < 2; i++ {
		if _, err := e.delete(created.PhysicalResourceID, e.props()); err != nil {
			t.Fatalf("delete #%d: %v", i+1, err)
		}
	}
	if ps := e.providers(); len(ps) != 0 {
		t.Fatalf("left %+v", ps)
	}

	kept := e.mustCreate(e.props(PropRoleARN, role2ARN))
	if _, err := e.delete(kept.PhysicalResourceID, e.props(PropRoleARN, role2ARN, PropDeregisterOnDelete, "false")); err != nil {
		t.Fatal(err)
	}
	if ps := e.providers(); len(ps) != 1 {
		t.Fatalf("DeregisterOnDelete=false removed the provider: %+v", ps)
	}
}

func TestDeleteTouchesOnlyWhatItsIDNames(t *testing.T) {
	e := newEnv(t, nil)
	other := e.emu.Seed(sysdig.ProviderSpec{RoleARN: role2ARN, Alias: "someone else's"})
	cases := []struct {
		name    string
		id      string
		wantErr string
	}{
		{"none id", NoneID("req-x"), ""},
		{"request id", "11111111-2222-3333-4444-555555555555", ""},
		{"damaged id", "sysdig-provider|v1|https://h", ""},
		{"id of another account", ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: other, RoleARN: otherRole}.String(), "refused"},
		{"id whose number now holds another role", ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: other, RoleARN: roleARN}.String(), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.delete(tc.id, e.props())
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("delete %q: %v, want %q", tc.id, err, tc.wantErr)
			}
		})
	}
	if ps := e.providers(); len(ps) != 1 || ps[0].ID != other {
		t.Fatalf("Sysdig holds %+v", ps)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("writes: %v", w)
	}
}

func TestRetriesAndFaults(t *testing.T) {
	cases := []struct {
		name    string
		fault   sysdigemu.Fault
		props   []any
		wantErr string
	}{
		{name: "429 with Retry-After", fault: sysdigemu.Fault{Method: http.MethodPost, Statuses: []int{429}, RetryAfter: time.Second}},
		{name: "5xx then success", fault: sysdigemu.Fault{Method: http.MethodPost, Statuses: []int{503, 502}}},
		{name: "reset connection", fault: sysdigemu.Fault{Method: http.MethodGet, PathPrefix: "/api/providers", ResetConn: true}},
		{name: "401", fault: sysdigemu.Fault{Statuses: []int{401}}, wantErr: "administrator"},
		{name: "403", fault: sysdigemu.Fault{Statuses: []int{403}}, wantErr: "403"},
		{name: "409", fault: sysdigemu.Fault{Method: http.MethodPost, Statuses: []int{409}}, wantErr: "409"},
		{name: "20 KB error body", fault: sysdigemu.Fault{Method: http.MethodPost, Statuses: []int{400}, BodySize: 20 << 10}, wantErr: "400"},
		{name: "reset connection on create", fault: sysdigemu.Fault{Method: http.MethodPost, ResetConn: true}},
		{name: "malformed create answer", fault: sysdigemu.Fault{Method: http.MethodPost, Malformed: true}, wantErr: "answered 200 but"},
		{name: "malformed list", fault: sysdigemu.Fault{Method: http.MethodGet, PathPrefix: "/api/providers", Malformed: true}, props: []any{PropOnExisting, "Adopt"}, wantErr: "look up"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.emu.Inject(tc.fault)
			res, err := e.create(e.props(tc.props...))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				if ps := e.providers(); len(ps) != 1 || ps[0].ID != refOf(t, res).ID {
					t.Fatalf("Sysdig holds %+v", ps)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if len(err.Error()) > 2048 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			if ps := e.providers(); len(ps) != 0 {
				t.Fatalf("failed create left %+v", ps)
			}
		})
	}
}

func TestSysdigThatHangsEndsAtTheDeadline(t *testing.T) {
	e := newEnv(t, nil)
	e.emu.Inject(sysdigemu.Fault{Hang: true, Times: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := e.reg.Handle(ctx, customresource.Request{RequestType: cfn.RequestCreate, RequestID: "r-hang", ResourceType: TypeProvider,
		LogicalResourceID: "P", StackID: stackID, ResourceProperties: e.props()})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the handler outlived its context by far")
	}
	if res.PhysicalResourceID != NoneID("r-hang") {
		t.Fatalf("answered %q", res.PhysicalResourceID)
	}
}

func TestWaitsForRolePropagation(t *testing.T) {
	var refusals atomic.Int32
	middleware := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && refusals.Add(1) <= 2 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"errors":[{"reason":"Bad Request","message":"Unable to assume role arn:aws:iam::123456789012:role/sysdig-role"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, middleware)
	if _, err := e.create(e.props()); err != nil {
		t.Fatalf("create: %v", err)
	}
	if refusals.Load() != 3 || len(e.providers()) != 1 {
		t.Fatalf("%d POSTs, providers %+v", refusals.Load(), e.providers())
	}
}

func TestExternalID(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        []sysdigemu.Option
		wantAccount string
	}{
		{name: "cloud information", wantAccount: sysdigemu.DefaultSysdigAWSAccountID},
		{name: "users/me fallback, us1", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, wantAccount: US1SysdigAWSAccountID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, tc.opts...)
			props := map[string]any{PropSysdigAPIURL: e.url, PropAPITokenSecretID: secretID, PropSysdigRegion: "us1"}
			res, err := e.do(cfn.RequestCreate, TypeExternalID, "", props, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Data["ExternalId"] != sysdigemu.DefaultExternalID || res.Data["SysdigAwsAccountId"] != tc.wantAccount {
				t.Fatalf("Data %v", res.Data)
			}
			before := len(e.emu.Requests())
			if _, err := e.do(cfn.RequestDelete, TypeExternalID, res.PhysicalResourceID, props, nil); err != nil {
				t.Fatal(err)
			}
			if len(e.emu.Requests()) != before {
				t.Fatal("Delete of the external ID called Sysdig")
			}
		})
	}
}

// The trusted account comes from the tenant: reported, or us1's documented default, or
// the value given; a mismatch or an unknown region fails before the role exists.
func TestExternalIDChoosesTheTrustedAccount(t *testing.T) {
	const eu1Account = "210987654321"
	const given = "111122223333"
	for _, tc := range []struct {
		name        string
		opts        []sysdigemu.Option
		kv          []any
		wantAccount string
		wantErr     []string // all in the error; empty: success
	}{
		{name: "reported, eu1", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID(eu1Account)}, kv: []any{PropSysdigRegion, "eu1"}, wantAccount: eu1Account},
		{name: "reported equals given", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID(eu1Account)}, kv: []any{PropSysdigRegion, "eu1", PropSysdigAwsAccountID, eu1Account}, wantAccount: eu1Account},
		{name: "reported differs from given", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID(eu1Account)}, kv: []any{PropSysdigRegion, "eu1", PropSysdigAwsAccountID, given},
			wantErr: []string{"SysdigAwsAccountId is " + given, "reports its AWS account as " + eu1Account}},
		{name: "not reported, us1", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, kv: []any{PropSysdigRegion, "us1"}, wantAccount: US1SysdigAWSAccountID},
		{name: "not reported, eu1", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, kv: []any{PropSysdigRegion, "eu1"},
			wantErr: []string{"set the SysdigAwsAccountId parameter", "SysdigRegion eu1", "AWS account IDs", "not created"}},
		{name: "not reported, custom", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, kv: []any{PropSysdigRegion, "custom"},
			wantErr: []string{"SysdigAwsAccountId", "SysdigRegion custom"}},
		{name: "not reported, no region sent", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, wantErr: []string{"SysdigAwsAccountId"}},
		{name: "not reported, given", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, kv: []any{PropSysdigRegion, "eu1", PropSysdigAwsAccountID, given}, wantAccount: given},
		{name: "on-prem, not reported", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, kv: []any{PropSysdigRegion, "custom", PropOnPremCredentials, OnPremCreateUser}, wantAccount: ""},
		{name: "on-prem ignores a mismatch", kv: []any{PropSysdigRegion, "custom", PropSysdigAwsAccountID, given, PropOnPremCredentials, OnPremExistingPrincipal}, wantAccount: sysdigemu.DefaultSysdigAWSAccountID},
		{name: "bad account id", kv: []any{PropSysdigAwsAccountID, "12345"}, wantErr: []string{"property SysdigAwsAccountId", "12-digit"}},
		{name: "bad mode", kv: []any{PropOnPremCredentials, "Root"}, wantErr: []string{"property OnPremCredentials", "None, CreateUser or ExistingPrincipal"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, tc.opts...)
			props := map[string]any{PropSysdigAPIURL: e.url, PropAPITokenSecretID: secretID}
			for i := 0; i+1 < len(tc.kv); i += 2 {
				props[tc.kv[i].(string)] = tc.kv[i+1]
			}
			res, err := e.do(cfn.RequestCreate, TypeExternalID, "", props, nil)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("succeeded with Data %v", res.Data)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("error %q lacks %q", err, w)
					}
				}
				if !strings.Contains(res.PhysicalResourceID, noneMarker) {
					t.Fatalf("a failed create answered id %q", res.PhysicalResourceID)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := res.Data["SysdigAwsAccountId"]
			if !ok || got != tc.wantAccount {
				t.Fatalf("Data.SysdigAwsAccountId = %v (present %v), want %q", got, ok, tc.wantAccount)
			}
		})
	}
}

func TestUnknownResourceType(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.do(cfn.RequestCreate, "Custom::Other", "", e.props(), nil); err == nil || !strings.Contains(err.Error(), "Custom::SysdigProvider") {
		t.Fatalf("create: %v", err)
	}
	if _, err := e.do(cfn.RequestDelete, "Custom::Other", "x", e.props(), nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if len(e.emu.Requests()) != 0 {
		t.Fatal("unknown type reached Sysdig")
	}
}

func TestLogsNeverHoldTheToken(t *testing.T) {
	e := newEnv(t, nil)
	created := e.mustCreate(e.props())
	e.emu.Inject(sysdigemu.Fault{Statuses: []int{401}})
	_, _ = e.delete(created.PhysicalResourceID, e.props())
	if strings.Contains(e.logs.String(), sysdigemu.DefaultToken) {
		t.Fatal("logs hold the token")
	}
}

// The v2 API takes only the bare role name, so Sysdig would assume the role without its
// path: v2 with a role path is refused before any call, saying why; v1 registers it and
// Delete removes it.
func TestRoleWithPathOnBothAPIs(t *testing.T) {
	for _, api := range []string{"v1", "v2"} {
		t.Run(api, func(t *testing.T) {
			e := newEnv(t, nil)
			props := e.props(PropRoleARN, "arn:aws:iam::"+account+":role/team/sysdig/sysdig-role", PropProviderAPI, api)
			if api == "v2" {
				_, err := e.create(props)
				if err == nil || !strings.Contains(err.Error(), "the v2 API takes only the role's name") {
					t.Fatalf("create with v2 and a role path: %v", err)
				}
				if n := len(e.emu.Requests()); n != 0 {
					t.Fatalf("%d Sysdig calls, want none", n)
				}
				return
			}
			created := e.mustCreate(props)
			if _, err := e.delete(created.PhysicalResourceID, props); err != nil {
				t.Fatal(err)
			}
			if ps := e.providers(); len(ps) != 0 {
				t.Fatalf("Sysdig still holds %+v", ps)
			}
		})
	}
}
