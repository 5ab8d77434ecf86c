package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/localdynamo"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// The registry of record is tested through the real registry.Store on dynalite, started
// by the first test that needs it.

var (
	dynamoOnce   sync.Once
	dynamo       *localdynamo.Server
	dynamoErr    error
	registryRuns atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dynamo != nil {
		_ = dynamo.Close()
	}
	os.Exit(code)
}

// useRegistry gives e's registrar a registry of record in a table of its own.
func (e *env) useRegistry(reg ...Registry) *registry.Store {
	e.t.Helper()
	dynamoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dynamo, dynamoErr = localdynamo.Start(ctx)
	})
	if dynamoErr != nil {
		e.t.Fatal(dynamoErr)
	}
	name := fmt.Sprintf("registry-%d", registryRuns.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := dynamo.CreateTable(ctx, registry.CreateTableInput(name)); err != nil {
		e.t.Fatal(err)
	}
	store := registry.New(dynamo.Client(), name)
	var r Registry = store
	if len(reg) > 0 {
		r = reg[0]
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.reg = New(e.tokens, WithLogger(logger), WithRolePropagationWait(2*time.Second, 5*time.Millisecond), WithRegistry(r),
		WithSysdigFactory(func(baseURL, token string, skip bool) (Sysdig, error) {
			return sysdig.New(baseURL, token, sysdig.WithRetry(time.Millisecond, 20*time.Millisecond, 6),
				sysdig.WithRequestTimeout(2*time.Second), sysdig.WithLogger(logger))
		}))
	return store
}

var regKey = registry.Key{StackID: stackID, LogicalResourceID: "SysdigProvider"}

func mustGet(t *testing.T, s *registry.Store) registry.Record {
	t.Helper()
	rec, ok, err := s.Get(context.Background(), regKey)
	if err != nil || !ok {
		t.Fatalf("registry: ok=%v err=%v", ok, err)
	}
	return rec
}

// With the registry holding the provider, Update is one PUT and Delete one DELETE; Create
// records what Sysdig answered and Delete marks it removed.
func TestRegistryCallsPerOperation(t *testing.T) {
	for _, api := range []string{"v1", "v2"} {
		t.Run(api, func(t *testing.T) {
			coll := map[string]string{"v1": "/api/providers", "v2": "/api/v2/providers"}[api]
			e := newEnv(t, nil)
			store := e.useRegistry()
			old := e.props(PropProviderAPI, api, PropAlias, "a")
			created := e.mustCreate(old)
			id := refOf(t, created).ID
			equalCalls(t, "Create", e.calls(0), "POST "+coll)
			rec := mustGet(t, store)
			if rec.ProviderID != id || rec.API != api || rec.Origin != registry.OriginCreated || rec.State != registry.StateActive ||
				rec.Account != account || rec.Region != "us-east-1" || rec.RoleARN != roleARN || rec.LastStatus != "configured" || rec.Alias != "a" {
				t.Fatalf("record after Create: %+v", rec)
			}

			n := len(e.emu.Requests())
			if _, err := e.update(created.PhysicalResourceID, e.props(PropProviderAPI, api, PropAlias, "b"), old); err != nil {
				t.Fatal(err)
			}
			equalCalls(t, "Update", e.calls(n), "PUT "+coll+"/"+id)
			if rec = mustGet(t, store); rec.Alias != "b" || rec.ProviderID != id {
				t.Fatalf("record after Update: %+v", rec)
			}

			n = len(e.emu.Requests())
			if _, err := e.delete(created.PhysicalResourceID, old); err != nil {
				t.Fatal(err)
			}
			equalCalls(t, "Delete", e.calls(n), "DELETE "+coll+"/"+id)
			if rec = mustGet(t, store); rec.State != registry.StateRemoved || rec.RemovedAt.IsZero() {
				t.Fatalf("record after Delete: %+v", rec)
			}
			// Gone already (404) is success too; a removed record makes no call at all.
			n = len(e.emu.Requests())
			if res, err := e.delete(created.PhysicalResourceID, old); err != nil || res.Refused {
				t.Fatalf("second Delete: %+v %v", res, err)
			}
			equalCalls(t, "Delete of a removed registration", e.calls(n))
		})
	}
}

// A request naming any provider id but the one the registry holds is refused before any
// Sysdig call: Update with a Refusal error, Delete with SUCCESS and Refused.
func TestRegistryRefusesOtherIDs(t *testing.T) {
	cases := []struct {
		name  string
		op    string
		forge func(own ProviderRef, other string) string
	}{
		{"Delete naming another provider", "Delete", func(own ProviderRef, other string) string { own.ID = other; return own.String() }},
		{"Update naming another provider", "Update", func(own ProviderRef, other string) string { own.ID = other; return own.String() }},
		{"Update naming no provider", "Update", func(ProviderRef, string) string { return NoneID("x") }},
		{"Delete naming another provider as adopted", "Delete", func(own ProviderRef, other string) string {
			own.ID, own.Adopted = other, true
			return own.String()
		}},
	}
	for _, tc := range cases {
		for _, withRole := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, role in read answers %v", tc.name, withRole), func(t *testing.T) {
				opts := []sysdigemu.Option{}
				if !withRole {
					opts = append(opts, sysdigemu.WithoutRoleInReadAnswers())
				}
				e := newEnv(t, nil, opts...)
				store := e.useRegistry()
				created := e.mustCreate(e.props())
				other := e.emu.Seed(sysdig.ProviderSpec{RoleARN: role2ARN, Alias: "someone else's"})
				before := mustGet(t, store)
				n := len(e.emu.Requests())
				forged := tc.forge(refOf(t, created), other)
				var res customresource.Result
				var err error
				if tc.op == "Delete" {
					res, err = e.delete(forged, e.props())
					if err != nil || !res.Refused || res.PhysicalResourceID != forged {
						t.Fatalf("Delete: %+v %v; want SUCCESS, refused", res, err)
					}
					if !strings.Contains(e.logs.String(), "nothing removed at Sysdig") {
						t.Error("no warning says why nothing was removed")
					}
				} else {
					_, err = e.update(forged, e.props(PropAlias, "taken over"), e.props())
					var refusal customresource.Refusal
					if !errors.As(err, &refusal) || !refusal.Refusal() || !strings.Contains(err.Error(), "registry of record") {
						t.Fatalf("Update: %v; want a refusal naming the registry", err)
					}
				}
				equalCalls(t, tc.name, e.calls(n))
				if got := mustGet(t, store); got.ProviderID != before.ProviderID || got.State != before.State || got.Alias != before.Alias {
					t.Fatalf("the refused request changed the record: %+v", got)
				}
				if len(e.emu.Providers()) != 2 {
					t.Fatalf("Sysdig holds %+v", e.emu.Providers())
				}
			})
		}
	}
}

// Without a record (no registry, or a stack created before it), Update and Delete read the
// provider by id and act only when the answer names the stack's own role; an answer
// without a role fails closed and the log gives the command a person can run.
func TestNoRecordReadsByID(t *testing.T) {
	cases := []struct {
		name       string
		registry   bool
		withRole   bool
		op         string
		wantCalls  []string // after the id, in order: GET, DELETE, PUT
		wantRefuse bool
		wantGone   bool
	}{
		{"single account, role in the answer: Delete", false, true, "Delete", []string{"GET", "DELETE"}, false, true},
		{"single account, no role: Delete fails closed", false, false, "Delete", []string{"GET"}, true, false},
		{"single account, no role: Update fails closed", false, false, "Update", []string{"GET"}, true, false},
		{"single account, role in the answer: Update", false, true, "Update", []string{"GET", "PUT"}, false, false},
		{"before the registry, role in the answer: Delete", true, true, "Delete", []string{"GET", "DELETE"}, false, true},
		{"before the registry, no role: Delete fails closed", true, false, "Delete", []string{"GET"}, true, false},
		{"before the registry, no role: Update fails closed", true, false, "Update", []string{"GET"}, true, false},
		{"before the registry, role in the answer: Update", true, true, "Update", []string{"GET", "PUT"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := []sysdigemu.Option{}
			if !tc.withRole {
				opts = append(opts, sysdigemu.WithoutRoleInReadAnswers())
			}
			e := newEnv(t, nil, opts...)
			var store *registry.Store
			if tc.registry {
				store = e.useRegistry()
			}
			id := e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN, Alias: "before"})
			ref := ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: id, RoleARN: roleARN}
			var res customresource.Result
			var err error
			if tc.op == "Delete" {
				res, err = e.delete(ref.String(), e.props())
			} else {
				res, err = e.update(ref.String(), e.props(PropAlias, "after"), e.props(PropAlias, "before"))
			}
			var got []string
			for _, c := range e.calls(0) {
				got = append(got, strings.Fields(c)[0])
			}
			equalCalls(t, tc.name, got, tc.wantCalls...)
			switch {
			case tc.wantRefuse && tc.op == "Delete":
				if err != nil || !res.Refused {
					t.Fatalf("%+v %v; want SUCCESS, refused", res, err)
				}
			case tc.wantRefuse:
				var refusal customresource.Refusal
				if !errors.As(err, &refusal) || !strings.Contains(err.Error(), "does not name its role") {
					t.Fatalf("%v; want a refusal saying the answer names no role", err)
				}
			case err != nil || res.Refused:
				t.Fatalf("%+v %v", res, err)
			}
			if tc.wantRefuse && !strings.Contains(e.logs.String(), "SYSDIG_MONITOR_API_TOKEN=<token> sysdig-connect --api-url "+e.url+" deregister "+id+" --role-arn "+roleARN) {
				t.Errorf("no log line gives the deregister command: %s", e.logs.String())
			}
			if gone := len(e.emu.Providers()) == 0; gone != tc.wantGone {
				t.Fatalf("provider gone = %v, want %v", gone, tc.wantGone)
			}
			if store != nil && !tc.wantRefuse {
				// A proved provider is now in the registry: removed, or with the new alias.
				rec := mustGet(t, store)
				if (tc.op == "Delete") != (rec.State == registry.StateRemoved) || (tc.op == "Update" && rec.Alias != "after") {
					t.Fatalf("record %+v", rec)
				}
			}
		})
	}
}

// A replacing Update records the old provider as superseded: CloudFormation's cleanup
// Delete of it removes it, and when the stack update fails instead, the Delete of the new
// provider rolls the record back to the old one.
func TestRegistryReplacement(t *testing.T) {
	for _, outcome := range []string{"cleanup", "rollback"} {
		t.Run(outcome, func(t *testing.T) {
			e := newEnv(t, nil)
			store := e.useRegistry()
			created := e.mustCreate(e.props())
			oldRef := refOf(t, created)
			replaced, err := e.update(created.PhysicalResourceID, e.props(PropRoleARN, role2ARN), e.props())
			if err != nil {
				t.Fatal(err)
			}
			newRef := refOf(t, replaced)
			rec := mustGet(t, store)
			if rec.ProviderID != newRef.ID || rec.RoleARN != role2ARN || len(rec.Replaced) != 1 || rec.Replaced[0].ProviderID != oldRef.ID || rec.Replaced[0].RoleARN != roleARN {
				t.Fatalf("record after the replacement: %+v", rec)
			}
			n := len(e.emu.Requests())
			if outcome == "cleanup" {
				if _, err := e.delete(created.PhysicalResourceID, e.props()); err != nil {
					t.Fatal(err)
				}
				equalCalls(t, "cleanup Delete", e.calls(n), "DELETE /api/providers/"+oldRef.ID)
				if rec = mustGet(t, store); rec.ProviderID != newRef.ID || len(rec.Replaced) != 0 || rec.State != registry.StateActive {
					t.Fatalf("record after the cleanup: %+v", rec)
				}
				return
			}
			if _, err := e.delete(replaced.PhysicalResourceID, e.props(PropRoleARN, role2ARN)); err != nil {
				t.Fatal(err)
			}
			equalCalls(t, "rollback Delete", e.calls(n), "DELETE /api/providers/"+newRef.ID)
			if rec = mustGet(t, store); rec.ProviderID != oldRef.ID || rec.RoleARN != roleARN || len(rec.Replaced) != 0 || rec.State != registry.StateActive {
				t.Fatalf("record after the rollback: %+v", rec)
			}
			// The old provider is the resource's again: an Update of it is one PUT.
			n = len(e.emu.Requests())
			if _, err := e.update(created.PhysicalResourceID, e.props(PropAlias, "again"), e.props()); err != nil {
				t.Fatal(err)
			}
			equalCalls(t, "Update after the rollback", e.calls(n), "PUT /api/providers/"+oldRef.ID)
		})
	}
}

// failingRegistry fails every Put.
type failingRegistry struct{ Registry }

func (failingRegistry) Put(context.Context, registry.Record) error {
	return errors.New("record the registration: DynamoDB unavailable")
}

// When the record cannot be written after Sysdig registered, the Create fails naming the
// provider, so that rollback's Delete removes it.
func TestCreateFailsWhenTheRecordCannotBeWritten(t *testing.T) {
	e := newEnv(t, nil)
	store := e.useRegistry()
	e.useRegistry(failingRegistry{store})
	res, err := e.create(e.props())
	if err == nil || !strings.Contains(err.Error(), "registry of record could not record it") {
		t.Fatalf("Create: %v", err)
	}
	ref := refOf(t, res)
	if ps := e.emu.Providers(); len(ps) != 1 || ps[0].ID != ref.ID {
		t.Fatalf("the FAILED answer names %s; Sysdig holds %+v", ref.ID, ps)
	}
}

// A Create that fails after Sysdig registered the provider records it all the same, so
// that the rollback's Delete removes it with one call whatever Sysdig's read answers look
// like.
func TestFailedCreateIsRecordedForItsRollback(t *testing.T) {
	e := newEnv(t, nil, sysdigemu.WithoutStatusInWriteAnswers(), sysdigemu.WithoutRoleInReadAnswers())
	store := e.useRegistry()
	// The read back after the POST (the answer has no status) fails for good.
	e.emu.Inject(sysdigemu.Fault{Method: "GET", PathPrefix: "/api/providers/", Statuses: []int{400}})
	res, err := e.create(e.props())
	if err == nil || !strings.Contains(err.Error(), "could not read it back") {
		t.Fatalf("Create: %v", err)
	}
	ref := refOf(t, res)
	if rec := mustGet(t, store); rec.ProviderID != ref.ID || rec.State != registry.StateActive {
		t.Fatalf("record of the failed Create: %+v", rec)
	}
	n := len(e.emu.Requests())
	if res, err := e.delete(res.PhysicalResourceID, e.props()); err != nil || res.Refused {
		t.Fatalf("rollback Delete: %+v %v", res, err)
	}
	equalCalls(t, "rollback Delete", e.calls(n), "DELETE /api/providers/"+ref.ID)
	if ps := e.emu.Providers(); len(ps) != 0 {
		t.Fatalf("Sysdig still holds %+v", ps)
	}
}

// An Update whose PUT finds the registry's provider gone registers the role again and keeps
// the old id as superseded, so that CloudFormation's cleanup Delete of it is allowed (its
// DELETE answers 404, which is done).
func TestRegistryUpdateOfALostProvider(t *testing.T) {
	e := newEnv(t, nil)
	store := e.useRegistry()
	created := e.mustCreate(e.props())
	old := refOf(t, created)
	c, err := sysdig.New(e.url, sysdigemu.DefaultToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteProvider(context.Background(), sysdig.V1, old.ID); err != nil {
		t.Fatal(err)
	}
	res, err := e.update(created.PhysicalResourceID, e.props(PropAlias, "b"), e.props())
	if err != nil {
		t.Fatal(err)
	}
	if ref := refOf(t, res); ref.ID == old.ID {
		t.Fatalf("Update answered the lost provider %s", ref.ID)
	}
	if rec := mustGet(t, store); len(rec.Replaced) != 1 || rec.Replaced[0].ProviderID != old.ID {
		t.Fatalf("record %+v", rec)
	}
	n := len(e.emu.Requests())
	if res, err := e.delete(created.PhysicalResourceID, e.props()); err != nil || res.Refused {
		t.Fatalf("cleanup Delete: %+v %v", res, err)
	}
	equalCalls(t, "cleanup Delete", e.calls(n), "DELETE /api/providers/"+old.ID)
	if rec := mustGet(t, store); len(rec.Replaced) != 0 || rec.State != registry.StateActive {
		t.Fatalf("record after the cleanup %+v", rec)
	}
}

// Replacements whose cleanup Delete never comes do not grow the record without bound.
func TestRegistryBoundsSupersededProviders(t *testing.T) {
	e := newEnv(t, nil)
	store := e.useRegistry()
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/sysdig-role-r%d", account, i) }
	res := e.mustCreate(e.props(PropRoleARN, role(0)))
	for i := 1; i <= maxReplaced+2; i++ {
		next, err := e.update(res.PhysicalResourceID, e.props(PropRoleARN, role(i)), e.props(PropRoleARN, role(i-1)))
		if err != nil {
			t.Fatalf("replacement %d: %v", i, err)
		}
		res = next
	}
	rec := mustGet(t, store)
	if len(rec.Replaced) != maxReplaced || rec.Replaced[len(rec.Replaced)-1].RoleARN != role(maxReplaced+1) || rec.RoleARN != role(maxReplaced+2) {
		t.Fatalf("record holds %d superseded providers (last %+v), role %s", len(rec.Replaced), rec.Replaced[len(rec.Replaced)-1], rec.RoleARN)
	}
	if !strings.Contains(e.logs.String(), "forgets superseded providers") {
		t.Error("no warning names the providers forgotten")
	}
}
