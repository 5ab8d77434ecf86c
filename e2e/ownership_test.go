package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// The registrar as the Organizations deployer configures it (SNS-wrapped requests, the
// request check, the idempotency table and the registry of record on), against a member
// that owns a running stack instance and writes another member's provider id into its
// own requests' PhysicalResourceId.

const memberA, memberB = "210987654321", "210987654322"

// orgWorld is the registrar with both tables, and two members with running instances.
type orgWorld struct {
	env      *localrun.Env
	registry *registry.Store
	timeout  time.Duration
	topic    string
}

func newOrgWorld(t *testing.T) *orgWorld {
	t.Helper()
	env := start(t, localrun.Options{FunctionTimeout: orgFunctionTimeout(t), FunctionEnv: localrun.OrganizationEnv(deployerName),
		Idempotency: true, Registry: true})
	for _, account := range []string{memberA, memberB} {
		env.CloudFormation.PutStackInstance(localrun.StackSetName(deployerName), localaws.StackInstance{
			Account: account, Region: localrun.Region, StackID: stackIDFor(account), DetailedStatus: localaws.InstanceRunning})
	}
	return &orgWorld{env: env, registry: registry.New(env.Dynamo.Client(), localrun.RegistryTable), timeout: orgFunctionTimeout(t),
		topic: "arn:aws:sns:us-east-1:" + localrun.AccountID + ":sysdig-registrar"}
}

func (w *orgWorld) props(account string, kv ...string) map[string]any {
	p := map[string]any{"ServiceToken": w.topic, "SysdigApiUrl": w.env.SysdigURL, "ApiTokenSecretId": w.env.SecretARN, "RoleArn": roleARN(account, "sysdig-role")}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

// create registers account's provider through the topic and returns its physical id.
func (w *orgWorld) create(t *testing.T, account string) string {
	t.Helper()
	out := send(t, w.env, request{requestType: "Create", sns: true, stackAccount: account, props: w.props(account)})
	checkAnswer(t, w.env, out, w.timeout, "SUCCESS", "")
	return out.resp.PhysicalResourceID
}

// forge is account's own physical id with the provider id replaced by victimID.
func forge(t *testing.T, ownPhysicalID, victimID string) string {
	t.Helper()
	ref, err := registrar.ParseProviderRef(ownPhysicalID)
	if err != nil {
		t.Fatal(err)
	}
	ref.ID = victimID
	return ref.String()
}

func providerID(t *testing.T, physicalID string) string {
	t.Helper()
	ref, err := registrar.ParseProviderRef(physicalID)
	if err != nil {
		t.Fatal(err)
	}
	return ref.ID
}

// untouched asserts that Sysdig still holds the provider id with its role and alias, and
// that no Sysdig call was made since calls.
func (w *orgWorld) untouched(t *testing.T, what, id, role, alias string, calls int) {
	t.Helper()
	if n := len(w.env.Sysdig.Requests()) - calls; n != 0 {
		t.Errorf("%s: %d Sysdig calls, want none", what, n)
	}
	for _, p := range w.env.Sysdig.Providers() {
		if p.ID == id {
			if p.RoleARN != role || p.Alias != alias {
				t.Fatalf("%s: provider %s now holds role %s alias %q", what, id, p.RoleARN, p.Alias)
			}
			return
		}
	}
	t.Fatalf("%s: provider %s is gone", what, id)
}

func (w *orgWorld) logged(t *testing.T, parts ...string) bool {
	t.Helper()
	for _, line := range w.env.Logs() {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestMemberCannotActOnAnotherMembersProvider: member A, during an operation on its own
// stack instance, sends a Delete and an Update with a new Alias naming member B's provider.
// Both are refused from the registry of record before any Sysdig call, whatever shape
// Sysdig's read-by-id answer has.
func TestMemberCannotActOnAnotherMembersProvider(t *testing.T) {
	for _, shape := range []struct {
		name     string
		withRole bool
	}{{"read answers carry the role", true}, {"read answers carry no role", false}} {
		t.Run(shape.name, func(t *testing.T) {
			w := newOrgWorld(t)
			w.env.Sysdig.SetRoleInReadAnswers(shape.withRole)
			ownA, ownB := w.create(t, memberA), w.create(t, memberB)
			victim := providerID(t, ownB)
			roleB := roleARN(memberB, "sysdig-role")
			aliasB := w.env.Sysdig.Providers()[1].Alias
			forged := forge(t, ownA, victim)

			calls := len(w.env.Sysdig.Requests())
			del := send(t, w.env, request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: forged, props: w.props(memberA)})
			checkAnswer(t, w.env, del, w.timeout, "SUCCESS", "")
			w.untouched(t, "forged Delete", victim, roleB, aliasB, calls)
			if !w.logged(t, `"level":"WARN"`, "nothing removed at Sysdig", "not "+victim) {
				t.Error("no warning says why the Delete removed nothing")
			}

			upd := send(t, w.env, request{requestType: "Update", sns: true, stackAccount: memberA, physicalID: forged,
				props: w.props(memberA, "Alias", "taken over"), old: w.props(memberA)})
			checkAnswer(t, w.env, upd, w.timeout, "FAILED", "refused: this stack resource's provider, as the registry of record holds it, is "+providerID(t, ownA))
			w.untouched(t, "forged Update", victim, roleB, aliasB, calls)

			// A's own provider and records are intact: its genuine Delete still works, with
			// one Sysdig call.
			for _, own := range []struct{ account, id string }{{memberA, ownA}, {memberB, ownB}} {
				rec, ok, err := w.registry.Get(context.Background(), registry.Key{StackID: stackIDFor(own.account), LogicalResourceID: "SysdigProvider"})
				if err != nil || !ok || rec.ProviderID != providerID(t, own.id) || rec.State != registry.StateActive {
					t.Fatalf("record of %s: %+v %v %v", own.account, rec, ok, err)
				}
			}
			calls = len(w.env.Sysdig.Requests())
			genuine := send(t, w.env, request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: ownA, props: w.props(memberA)})
			checkAnswer(t, w.env, genuine, w.timeout, "SUCCESS", "")
			if n := len(w.env.Sysdig.Requests()) - calls; n != 1 {
				t.Errorf("the genuine Delete made %d Sysdig calls, want 1", n)
			}
			if ps := w.env.Sysdig.Providers(); len(ps) != 1 || ps[0].ID != victim {
				t.Fatalf("after A's genuine Delete Sysdig holds %+v, want B's only", ps)
			}
		})
	}
}

// TestStacksCreatedBeforeTheRegistry: providers registered by stacks that predate the
// registry (no item). Update and Delete read the provider by id and act only when the
// answer names the requesting account's role; an answer without a role fails closed and
// logs the command a person can run.
func TestStacksCreatedBeforeTheRegistry(t *testing.T) {
	w := newOrgWorld(t)
	roleA, roleB := roleARN(memberA, "sysdig-role"), roleARN(memberB, "sysdig-role")
	idA := w.env.Sysdig.Seed(sysdig.ProviderSpec{RoleARN: roleA, Alias: "a"})
	idB := w.env.Sysdig.Seed(sysdig.ProviderSpec{RoleARN: roleB, Alias: "b"})
	ownA := registrar.ProviderRef{API: sysdig.V1, BaseURL: w.env.SysdigURL, ID: idA, RoleARN: roleA}.String()
	forged := forge(t, ownA, idB)

	// Sysdig's answer names B's role: A's forged requests leave B alone.
	calls := len(w.env.Sysdig.Requests())
	del := send(t, w.env, request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: forged, props: w.props(memberA)})
	checkAnswer(t, w.env, del, w.timeout, "SUCCESS", "")
	if n := len(w.env.Sysdig.Requests()) - calls; n != 1 {
		t.Errorf("the forged Delete made %d Sysdig calls, want the one read", n)
	}
	w.untouched(t, "forged Delete, role in the answer", idB, roleB, "b", len(w.env.Sysdig.Requests()))
	upd := send(t, w.env, request{requestType: "Update", sns: true, stackAccount: memberA, physicalID: forged,
		props: w.props(memberA, "Alias", "taken over"), old: w.props(memberA)})
	if upd.resp.Status != "FAILED" {
		// B's id holds another role: the Update registers A's role anew, which Sysdig
		// refuses (A's own provider holds it); B is never written.
		t.Errorf("forged Update answered %s %q", upd.resp.Status, upd.resp.Reason)
	}
	w.untouched(t, "forged Update, role in the answer", idB, roleB, "b", len(w.env.Sysdig.Requests()))

	// Sysdig's answer names no role: nothing proves ownership, so nothing is done, even to
	// A's own provider; the log says how to remove it by hand.
	w.env.Sysdig.SetRoleInReadAnswers(false)
	calls = len(w.env.Sysdig.Requests())
	del = send(t, w.env, request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: forged, props: w.props(memberA)})
	checkAnswer(t, w.env, del, w.timeout, "SUCCESS", "")
	upd = send(t, w.env, request{requestType: "Update", sns: true, stackAccount: memberA, physicalID: forged,
		props: w.props(memberA, "Alias", "taken over"), old: w.props(memberA)})
	checkAnswer(t, w.env, upd, w.timeout, "FAILED", "refused: Sysdig's answer for provider "+idB+" does not name its role")
	if n := len(w.env.Sysdig.Requests()) - calls; n != 2 {
		t.Errorf("the two forged requests made %d Sysdig calls, want one read each", n)
	}
	w.untouched(t, "forged requests, no role in the answer", idB, roleB, "b", len(w.env.Sysdig.Requests()))
	own := send(t, w.env, request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: ownA, props: w.props(memberA)})
	checkAnswer(t, w.env, own, w.timeout, "SUCCESS", "")
	w.untouched(t, "A's own Delete, no role in the answer", idA, roleA, "a", len(w.env.Sysdig.Requests()))
	if !w.logged(t, `"level":"WARN"`, "SYSDIG_MONITOR_API_TOKEN=<token> sysdig-connect --api-url "+w.env.SysdigURL+" deregister "+idA+" --role-arn "+roleA) {
		t.Error("no warning gives the sysdig-connect deregister command for A's provider")
	}

	// With the role in the answer A's own Delete removes it (read, then DELETE) and the
	// registry records the removal.
	w.env.Sysdig.SetRoleInReadAnswers(true)
	calls = len(w.env.Sysdig.Requests())
	own = send(t, w.env, request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: ownA, props: w.props(memberA)})
	checkAnswer(t, w.env, own, w.timeout, "SUCCESS", "")
	if n := len(w.env.Sysdig.Requests()) - calls; n != 2 {
		t.Errorf("A's own Delete made %d Sysdig calls, want 2 (read, DELETE)", n)
	}
	if ps := w.env.Sysdig.Providers(); len(ps) != 1 || ps[0].ID != idB {
		t.Fatalf("Sysdig holds %+v, want B's only", ps)
	}
	rec, ok, err := w.registry.Get(context.Background(), registry.Key{StackID: stackIDFor(memberA), LogicalResourceID: "SysdigProvider"})
	if err != nil || !ok || rec.State != registry.StateRemoved || rec.ProviderID != idA {
		t.Fatalf("registry after A's Delete: %+v %v %v", rec, ok, err)
	}
}

// TestRegistryFollowsTheLifecycle: Create records the provider once Sysdig answered, an
// Update PUTs with one call and records the new alias and status, a replacing Update
// records the new id and keeps the old one as superseded until CloudFormation's cleanup
// Delete removes it, and the last Delete marks the record removed; each Update and Delete
// makes one Sysdig call.
func TestRegistryFollowsTheLifecycle(t *testing.T) {
	w := newOrgWorld(t)
	key := registry.Key{StackID: stackIDFor(memberA), LogicalResourceID: "SysdigProvider"}
	get := func() registry.Record {
		t.Helper()
		rec, ok, err := w.registry.Get(context.Background(), key)
		if err != nil || !ok {
			t.Fatalf("registry: %v %v", ok, err)
		}
		return rec
	}
	oneCall := func(what string, req request, wantStatus string) outcome {
		t.Helper()
		calls := len(w.env.Sysdig.Requests())
		out := send(t, w.env, req)
		checkAnswer(t, w.env, out, w.timeout, wantStatus, "")
		if n := len(w.env.Sysdig.Requests()) - calls; n != 1 {
			t.Errorf("%s made %d Sysdig calls, want 1", what, n)
		}
		return out
	}

	first := oneCall("Create", request{requestType: "Create", sns: true, stackAccount: memberA, props: w.props(memberA)}, "SUCCESS")
	id1 := providerID(t, first.resp.PhysicalResourceID)
	rec := get()
	if rec.ProviderID != id1 || rec.Account != memberA || rec.Region != localrun.Region || rec.RoleARN != roleARN(memberA, "sysdig-role") ||
		rec.Origin != registry.OriginCreated || rec.State != registry.StateActive || rec.SysdigURL != w.env.SysdigURL || rec.API != "v1" || rec.LastStatus == "" {
		t.Fatalf("record after Create: %+v", rec)
	}

	oneCall("Update (alias)", request{requestType: "Update", sns: true, stackAccount: memberA, physicalID: first.resp.PhysicalResourceID,
		props: w.props(memberA, "Alias", "renamed"), old: w.props(memberA)}, "SUCCESS")
	if rec = get(); rec.Alias != "renamed" || rec.ProviderID != id1 {
		t.Fatalf("record after the Update: %+v", rec)
	}

	role2 := roleARN(memberA, "sysdig-role-2")
	replaced := oneCall("Update (new role: replacement)", request{requestType: "Update", sns: true, stackAccount: memberA, physicalID: first.resp.PhysicalResourceID,
		props: w.props(memberA, "Alias", "renamed", "RoleArn", role2), old: w.props(memberA, "Alias", "renamed")}, "SUCCESS")
	id2 := providerID(t, replaced.resp.PhysicalResourceID)
	if rec = get(); rec.ProviderID != id2 || rec.RoleARN != role2 || len(rec.Replaced) != 1 || rec.Replaced[0].ProviderID != id1 {
		t.Fatalf("record after the replacement: %+v", rec)
	}
	// CloudFormation's cleanup deletes the old provider.
	oneCall("cleanup Delete", request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: first.resp.PhysicalResourceID,
		props: w.props(memberA, "Alias", "renamed")}, "SUCCESS")
	if rec = get(); rec.ProviderID != id2 || len(rec.Replaced) != 0 || rec.State != registry.StateActive {
		t.Fatalf("record after the cleanup: %+v", rec)
	}
	oneCall("Delete", request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: replaced.resp.PhysicalResourceID,
		props: w.props(memberA, "Alias", "renamed", "RoleArn", role2)}, "SUCCESS")
	if rec = get(); rec.State != registry.StateRemoved || rec.ProviderID != id2 || rec.RemovedAt.IsZero() {
		t.Fatalf("record after the Delete: %+v", rec)
	}
	if ps := w.env.Sysdig.Providers(); len(ps) != 0 {
		t.Fatalf("Sysdig still holds %+v", ps)
	}
	// The same Delete again (a retry) does nothing.
	calls := len(w.env.Sysdig.Requests())
	again := send(t, w.env, request{requestType: "Delete", sns: true, stackAccount: memberA, physicalID: replaced.resp.PhysicalResourceID,
		props: w.props(memberA, "Alias", "renamed", "RoleArn", role2)})
	checkAnswer(t, w.env, again, w.timeout, "SUCCESS", "")
	if n := len(w.env.Sysdig.Requests()) - calls; n != 0 {
		t.Errorf("a Delete of a removed registration made %d Sysdig calls", n)
	}
}

// TestSingleAccountReadsByID: the single-account function has no registry. A request that
// names another account's provider behind this account's role is refused after the read
// by id, and a read whose answer names no role leaves even this account's provider (fail
// closed), logging the command that removes it by hand.
func TestSingleAccountReadsByID(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	own := roleARN(localrun.AccountID, "sysdig-role")
	other := roleARN("999999999999", "sysdig-role")
	ownID := env.Sysdig.Seed(sysdig.ProviderSpec{RoleARN: own, Alias: "own"})
	otherID := env.Sysdig.Seed(sysdig.ProviderSpec{RoleARN: other, Alias: "other"})
	ref := registrar.ProviderRef{API: sysdig.V1, BaseURL: env.SysdigURL, ID: ownID, RoleARN: own}
	timeout := templateTimeout(t)
	w := &orgWorld{env: env}

	forged := forge(t, ref.String(), otherID)
	out := send(t, env, request{requestType: "Delete", physicalID: forged, props: providerProps(env)})
	checkAnswer(t, env, out, timeout, "SUCCESS", "")
	out = send(t, env, request{requestType: "Update", physicalID: forged, props: providerProps(env, "Alias", "taken over"), old: providerProps(env)})
	if out.resp.Status != "FAILED" {
		t.Errorf("forged Update answered %s %q", out.resp.Status, out.resp.Reason)
	}
	w.untouched(t, "requests naming another account's provider", otherID, other, "other", len(env.Sysdig.Requests()))

	env.Sysdig.SetRoleInReadAnswers(false)
	out = send(t, env, request{requestType: "Delete", physicalID: ref.String(), props: providerProps(env)})
	checkAnswer(t, env, out, timeout, "SUCCESS", "")
	w.untouched(t, "Delete when the read names no role", ownID, own, "own", len(env.Sysdig.Requests()))
	if !w.logged(t, `"level":"WARN"`, "deregister "+ownID+" --role-arn "+own) {
		t.Error("no warning gives the deregister command")
	}
	env.Sysdig.SetRoleInReadAnswers(true)
	out = send(t, env, request{requestType: "Delete", physicalID: ref.String(), props: providerProps(env)})
	checkAnswer(t, env, out, timeout, "SUCCESS", "")
	if ps := env.Sysdig.Providers(); len(ps) != 1 || ps[0].ID != otherID {
		t.Fatalf("Sysdig holds %+v, want the other account's only", ps)
	}
}
