package orgreport

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// orphans builds an organization with one account per reconcile case.
func orphans() *world {
	w := &world{sd: fakeSysdig{provs: map[string]sysdig.Provider{}}}
	add := func(n int, id string, origin registry.Origin, atSysdig bool) string {
		a := acct(n)
		w.org.listed = append(w.org.listed, Account{ID: a, State: "SUSPENDED", OU: testOU, Target: testOU})
		w.reg.recs = append(w.reg.recs, rec(a, id, origin))
		if atSysdig {
			w.sd.provs[id] = prov(a, id)
		}
		return a
	}
	add(1, "p1", registry.OriginCreated, true)  // deregistered
	add(2, "p2", registry.OriginAdopted, true)  // never: adopted
	add(3, "p3", registry.OriginCreated, false) // already gone: marked only
	add(4, "p4", registry.OriginCreated, true)  // Sysdig's provider holds another role
	p := w.sd.provs["p4"]
	p.RoleARN = role(acct(9))
	w.sd.provs["p4"] = p
	// A MISSING and a FAILED account: their commands are printed, never run.
	w.org.listed = append(w.org.listed, Account{ID: acct(5), State: "ACTIVE", OU: testOU, Target: testOU},
		Account{ID: acct(6), State: "ACTIVE", OU: testOU, Target: testOU})
	w.inst.list = append(w.inst.list, inst(acct(6), "FAILED", "boom"))
	// A provider at Sysdig that the registry does not hold is never touched.
	w.sd.provs["stranger"] = prov(acct(7), "stranger")
	return w
}

func (w *world) report(t *testing.T) *Report {
	t.Helper()
	r, err := Build(context.Background(), Sources{Stack: testStack(), Org: &w.org, Instances: &w.inst, Registry: &w.reg, Sysdig: &w.sd}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReconcile(t *testing.T) {
	w := orphans()
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, nil))

	// The dry run changes nothing.
	dry, err := Reconcile(context.Background(), w.report(t), ReconcileOptions{Sysdig: &w.sd, Registry: &w.reg, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{acct(1): ActionDeregister, acct(2): ActionSkip, acct(3): ActionMarkOnly, acct(4): ActionSkip,
		acct(5): ActionCommand, acct(6): ActionCommand}
	if len(dry) != len(want) {
		t.Fatalf("plan = %+v", dry)
	}
	for _, a := range dry {
		if want[a.Account] != a.Kind || a.Done {
			t.Fatalf("dry run action %+v, want %s not done", a, want[a.Account])
		}
	}
	if len(w.sd.deleted) != 0 || len(w.reg.removed) != 0 {
		t.Fatalf("the dry run deleted %v, marked %v", w.sd.deleted, w.reg.removed)
	}
	if !strings.Contains(logs.String(), `"account":"`+acct(1)+`","provider_id":"p1"`) {
		t.Fatalf("the log does not name account and provider: %s", logs.String())
	}

	// --apply deregisters exactly the orphan it created and marks the gone one.
	done, err := Reconcile(context.Background(), w.report(t), ReconcileOptions{Apply: true, Sysdig: &w.sd, Registry: &w.reg, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.sd.deleted, []string{"p1"}) || !slices.Equal(w.reg.removed, []string{"p1", "p3"}) {
		t.Fatalf("deleted %v, marked %v; want p1 deleted, p1 and p3 marked", w.sd.deleted, w.reg.removed)
	}
	for _, a := range done {
		if a.Done != (a.Kind == ActionDeregister || a.Kind == ActionMarkOnly) {
			t.Fatalf("action %+v", a)
		}
		if a.Kind == ActionCommand && !strings.Contains(a.Command, "aws cloudformation") {
			t.Fatalf("command %q", a.Command)
		}
	}
	if _, ok := w.sd.provs["stranger"]; !ok {
		t.Fatal("a provider the registry does not hold was removed")
	}

	// A second run does nothing.
	again, err := Reconcile(context.Background(), w.report(t), ReconcileOptions{Apply: true, Sysdig: &w.sd, Registry: &w.reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range again {
		if a.Done || a.Kind == ActionDeregister || a.Kind == ActionMarkOnly {
			t.Fatalf("second run acted: %+v", a)
		}
	}
	if len(w.sd.deleted) != 1 || len(w.reg.removed) != 2 {
		t.Fatalf("second run deleted %v, marked %v", w.sd.deleted, w.reg.removed)
	}
}

func TestReconcileReportsFailures(t *testing.T) {
	w := orphans()
	w.sd.errs = nil
	r := w.report(t)
	// The record changed under us: the conditional mark fails and says so.
	w.reg.recs[0].ProviderID = "other"
	acts, err := Reconcile(context.Background(), r, ReconcileOptions{Apply: true, Sysdig: &w.sd, Registry: &w.reg})
	if err == nil || !strings.Contains(err.Error(), "1 of the reconcile's actions failed") {
		t.Fatalf("err = %v", err)
	}
	if acts[0].Done || !strings.Contains(acts[0].Error, "mark registration p1 of account "+acct(1)) {
		t.Fatalf("action = %+v", acts[0])
	}
}
