package registrar

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// calls lists the API requests Sysdig answered since index from, as "METHOD path".
func (e *env) calls(from int) []string {
	var out []string
	for _, r := range e.emu.Requests()[from:] {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func equalCalls(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("%s made %v, want %v", what, got, want)
	}
}

// The calls each operation makes, counted: a Create is one POST, a Delete a read by id
// and the DELETE, an Update a read by id and the PUT. None lists the tenant's providers.
func TestCallsPerOperation(t *testing.T) {
	for _, api := range []string{"v1", "v2"} {
		t.Run(api, func(t *testing.T) {
			coll := "/api/providers"
			if api == "v2" {
				coll = "/api/v2/providers"
			}
			e := newEnv(t, nil)
			old := e.props(PropProviderAPI, api, PropAlias, "a")
			created := e.mustCreate(old)
			id := refOf(t, created).ID
			equalCalls(t, "Create", e.calls(0), "POST "+coll)
			if created.Data["Status"] != "configured" {
				t.Fatalf("Data %v: the status comes from the POST's answer", created.Data)
			}

			n := len(e.emu.Requests())
			updated, err := e.update(created.PhysicalResourceID, e.props(PropProviderAPI, api, PropAlias, "b"), old)
			if err != nil || updated.PhysicalResourceID != created.PhysicalResourceID || updated.Data["Status"] != "configured" {
				t.Fatalf("update: %+v, %v", updated, err)
			}
			equalCalls(t, "Update", e.calls(n), "GET "+coll+"/"+id, "PUT "+coll+"/"+id)

			n = len(e.emu.Requests())
			if _, err := e.delete(created.PhysicalResourceID, old); err != nil {
				t.Fatal(err)
			}
			equalCalls(t, "Delete", e.calls(n), "GET "+coll+"/"+id, "DELETE "+coll+"/"+id)
		})
	}
}

// Switching ProviderApi reads the provider by id through the other version: no list.
func TestProviderAPISwitchReadsByID(t *testing.T) {
	e := newEnv(t, nil, sysdigemu.WithoutV2ProviderList())
	old := e.props(PropProviderAPI, "v1")
	created := e.mustCreate(old)
	id := refOf(t, created).ID
	n := len(e.emu.Requests())
	res, err := e.update(created.PhysicalResourceID, e.props(PropProviderAPI, "v2", PropAlias, "via-v2"), old)
	if err != nil || res.PhysicalResourceID != created.PhysicalResourceID {
		t.Fatalf("update: %q, %v", res.PhysicalResourceID, err)
	}
	equalCalls(t, "Update", e.calls(n), "GET /api/v2/providers/"+id, "PUT /api/v2/providers/"+id)
}

// A tenant that does not list /api/v2/providers (404 there) still registers, adopts
// nothing it cannot find, and explains a 409 it cannot look up.
func TestTenantWithoutProviderList(t *testing.T) {
	cases := []struct {
		name       string
		seed       bool
		onExisting string
		fault      *sysdigemu.Fault
		wantErr    []string
		wantCalls  []string
	}{
		{name: "create registers", onExisting: "Fail", wantCalls: []string{"POST /api/v2/providers"}},
		{name: "adopt with nothing to adopt registers", onExisting: "Adopt", wantCalls: []string{"GET /api/v2/providers", "POST /api/v2/providers"}},
		{name: "409 fails and says what to do", seed: true, onExisting: "Fail",
			wantErr:   []string{"already has a provider for role " + roleARN, "409", "does not list providers", "SYSDIG_MONITOR_API_TOKEN=<token> sysdig-connect --api-url ", "readable only by its function", " deregister <id> --role-arn " + roleARN, "retry"},
			wantCalls: []string{"POST /api/v2/providers", "GET /api/v2/providers"}},
		{name: "409 with Adopt fails the same way", seed: true, onExisting: "Adopt",
			wantErr:   []string{"does not list providers", "neither name nor adopt it"},
			wantCalls: []string{"GET /api/v2/providers", "POST /api/v2/providers", "GET /api/v2/providers"}},
		{name: "lost connection on the POST: retried, registered once", onExisting: "Fail",
			fault:     &sysdigemu.Fault{Method: http.MethodPost, ResetConn: true},
			wantCalls: []string{"POST /api/v2/providers", "GET /api/v2/providers", "POST /api/v2/providers"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, sysdigemu.WithoutV2ProviderList())
			if tc.seed {
				e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN, Alias: "by hand"})
			}
			if tc.fault != nil {
				e.emu.Inject(*tc.fault)
			}
			res, err := e.create(e.props(PropProviderAPI, "v2", PropOnExisting, tc.onExisting))
			equalCalls(t, "Create", e.calls(0), tc.wantCalls...)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if ps := e.providers(); len(ps) != 1 || ps[0].ID != refOf(t, res).ID || refOf(t, res).Adopted {
					t.Fatalf("Sysdig holds %+v; answer %q", ps, res.PhysicalResourceID)
				}
				return
			}
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("error %v, want %q", err, w)
				}
			}
			if _, perr := ParseProviderRef(res.PhysicalResourceID); perr == nil {
				t.Fatalf("a failed create names a provider: %q", res.PhysicalResourceID)
			}
			if ps := e.providers(); len(ps) != 1 || ps[0].Alias != "by hand" {
				t.Fatalf("Sysdig holds %+v", ps)
			}
		})
	}
}

// A 409 on a tenant that lists: the Reason names the provider; with Adopt (the role
// registered by someone else between the look-up and the POST) it is adopted.
func TestConflictAtCreate(t *testing.T) {
	t.Run("Fail", func(t *testing.T) {
		e := newEnv(t, nil)
		seeded := e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN, Alias: "by hand"})
		_, err := e.create(e.props())
		if err == nil || !strings.Contains(err.Error(), "OnExisting to Adopt") || !strings.Contains(err.Error(), "provider "+seeded) {
			t.Fatalf("error %v", err)
		}
		equalCalls(t, "Create", e.calls(0), "POST /api/providers", "GET /api/providers")
	})
	t.Run("Adopt", func(t *testing.T) {
		var once atomic.Bool
		e := newEnv(t, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && once.CompareAndSwap(false, true) {
					next.(*sysdigemu.Server).Seed(sysdig.ProviderSpec{RoleARN: roleARN, Alias: "by hand"})
				}
				next.ServeHTTP(w, r)
			})
		})
		res, err := e.create(e.props(PropOnExisting, "Adopt", PropAlias, "by hand"))
		if err != nil || !refOf(t, res).Adopted || len(e.providers()) != 1 {
			t.Fatalf("adopt after a 409: %q, %v, %+v", res.PhysicalResourceID, err, e.providers())
		}
		equalCalls(t, "Create", e.calls(0), "GET /api/providers", "POST /api/providers", "GET /api/providers")
	})
}

// One client per tenant and token for the life of the instance.
func TestClientReusedAcrossRequests(t *testing.T) {
	e := newEnv(t, nil)
	var built atomic.Int32
	inner := e.reg.newSysdig
	e.reg.newSysdig = func(baseURL, token string, skip bool) (Sysdig, error) {
		built.Add(1)
		return inner(baseURL, token, skip)
	}
	a := e.mustCreate(e.props())
	b := e.mustCreate(e.props(PropRoleARN, role2ARN))
	for _, res := range []string{a.PhysicalResourceID, b.PhysicalResourceID} {
		if _, err := e.delete(res, e.props()); err != nil {
			t.Fatal(err)
		}
	}
	if n := built.Load(); n != 1 {
		t.Fatalf("%d clients built for 4 requests to one tenant with one token", n)
	}
}

// rotating serves a stale token from its cache and the current one on Refresh.
type rotating struct {
	cached, current string
	refreshes       atomic.Int32
}

func (r *rotating) Token(context.Context, string) (string, error) { return r.cached, nil }
func (r *rotating) Refresh(context.Context, string) (string, error) {
	r.refreshes.Add(1)
	return r.current, nil
}

func TestRotatedTokenIsReadAgainOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		current string
		wantErr string
	}{
		{name: "rotated: the call is made again with the new token", current: sysdigemu.DefaultToken},
		{name: "the secret holds the refused token too", current: "stale-token-0000", wantErr: "401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			src := &rotating{cached: "stale-token-0000", current: tc.current}
			e.reg.tokens = src
			res, err := e.create(e.props())
			if src.refreshes.Load() != 1 {
				t.Fatalf("%d refreshes, want 1", src.refreshes.Load())
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || len(e.providers()) != 0 {
					t.Fatalf("error %v, providers %+v", err, e.providers())
				}
				return
			}
			if err != nil || len(e.providers()) != 1 || refOf(t, res).ID != e.providers()[0].ID {
				t.Fatalf("create: %v, providers %+v", err, e.providers())
			}
			equalCalls(t, "Create", e.calls(0), "POST /api/providers", "POST /api/providers")
			// The next request, still handed the stale token, recovers the same way.
			if _, err := e.delete(res.PhysicalResourceID, e.props()); err != nil || len(e.providers()) != 0 {
				t.Fatalf("delete: %v, providers %+v", err, e.providers())
			}
		})
	}
}

// Pacing: a client told the limit shares it with the other instances.
func TestPacedToTheStatedLimit(t *testing.T) {
	e := newEnv(t, nil, sysdigemu.WithRateLimitPerMinute(600, 3))
	e.reg.instances = 2
	e.reg.newSysdig = func(baseURL, token string, skip bool) (Sysdig, error) {
		return sysdig.New(baseURL, token, sysdig.WithConcurrentInstances(e.reg.instances))
	}
	for i := range 4 {
		if _, err := e.create(e.props(PropRoleARN, "arn:aws:iam::"+account+":role/r"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	if n := count429(e.emu.Requests()); n != 0 {
		t.Fatalf("%d answers were 429 although the client paced", n)
	}
}

func count429(rs []sysdigemu.RequestRecord) int {
	n := 0
	for _, r := range rs {
		if r.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

// The clients an instance keeps are bounded, and a rotated token replaces its tenant's.
func TestClientCacheBounded(t *testing.T) {
	e := newEnv(t, nil)
	conn := Connection{BaseURL: e.url, SecretID: secretID}
	first, err := e.reg.clientFor(conn, "token-a")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := e.reg.clientFor(conn, "token-a"); again != first {
		t.Fatal("the same tenant and token built a second client")
	}
	if _, err := e.reg.clientFor(conn, "token-b"); err != nil || len(e.reg.clients) != 1 {
		t.Fatalf("after a rotation %d clients, %v", len(e.reg.clients), err)
	}
	for i := range 3 * maxClients {
		if _, err := e.reg.clientFor(Connection{BaseURL: fmt.Sprintf("https://tenant-%d.example", i), SecretID: secretID}, "t"); err != nil {
			t.Fatal(err)
		}
		if n := len(e.reg.clients); n > maxClients {
			t.Fatalf("%d clients kept", n)
		}
	}
}

// On a tenant whose registration answer lists every provider (as Sysdig's guide says it
// does) and that holds 6,000 of them, the answer is over 1 MiB: a Create is still the one
// POST, and the provider it made is recorded as created, not adopted.
func TestCreateWhenTheAnswerListsEveryProvider(t *testing.T) {
	cases := []struct {
		name     string
		existing int
	}{
		{name: "small tenant", existing: 3},
		{name: "6,000 providers", existing: 6000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, sysdigemu.WithProviderListInCreateAnswers())
			for i := range tc.existing {
				e.emu.Seed(sysdig.ProviderSpec{RoleARN: fmt.Sprintf("arn:aws:iam::%012d:role/other-%d", 100000000000+i, i), Alias: "role_delegation"})
			}
			sent := e.emu.BytesSent()
			props := e.props(PropProviderAPI, "v1")
			res := e.mustCreate(props)
			equalCalls(t, "Create", e.calls(0), "POST /api/providers")
			ref := refOf(t, res)
			ps := e.providers()
			if len(ps) != tc.existing+1 || ps[len(ps)-1].ID != ref.ID || ref.Adopted || res.Data["Status"] != "configured" {
				t.Fatalf("answer %q, Data %v; Sysdig holds %d providers, the last %+v", res.PhysicalResourceID, res.Data, len(ps), ps[len(ps)-1])
			}
			if answer := e.emu.BytesSent() - sent; tc.existing == 6000 && answer <= 1<<20 {
				t.Fatalf("the create answer is %d bytes: the test means one over the old 1 MiB cap", answer)
			}
			n := len(e.emu.Requests())
			if _, err := e.delete(res.PhysicalResourceID, props); err != nil {
				t.Fatal(err)
			}
			equalCalls(t, "Delete", e.calls(n), "GET /api/providers/"+ref.ID, "DELETE /api/providers/"+ref.ID)
			if ps := e.providers(); len(ps) != tc.existing {
				t.Fatalf("after the delete Sysdig holds %d providers, want %d", len(ps), tc.existing)
			}
		})
	}
}
