package orgreport

import (
	"context"
	"slices"
	"testing"

	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// An account with two registrations in force has two rows: its current stack instance's
// (here an adopted provider, healthy) and an older instance's, an orphan the deployer
// created. --apply removes the orphan's provider and only it, whichever row sorts last.
func TestReconcileActsOnTheOrphansOwnRecord(t *testing.T) {
	for _, ids := range [][2]string{{"p1", "p9"}, {"p9", "p1"}} {
		orphanID, currentID := ids[0], ids[1]
		t.Run("orphan "+orphanID, func(t *testing.T) {
			w := healthy()
			a := acct(1)
			current := rec(a, currentID, registry.OriginAdopted)
			old := rec(a, orphanID, registry.OriginCreated)
			old.StackID = "arn:aws:cloudformation:eu-west-1:" + a + ":stack/StackSet-m-1/old"
			w.reg.recs = []registry.Record{current, old}
			w.sd.provs = map[string]sysdig.Provider{currentID: prov(a, currentID), orphanID: prov(a, orphanID)}
			acts, err := Reconcile(context.Background(), w.report(t), ReconcileOptions{Apply: true, Sysdig: &w.sd, Registry: &w.reg})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w.sd.deleted, []string{orphanID}) || !slices.Equal(w.reg.removed, []string{orphanID}) {
				t.Fatalf("deleted %v, marked %v; want only the orphan %s (actions %+v)", w.sd.deleted, w.reg.removed, orphanID, acts)
			}
			if _, ok := w.sd.provs[currentID]; !ok {
				t.Fatalf("the account's adopted provider %s was removed", currentID)
			}
		})
	}
}

// Sysdig's answer proves the orphan's provider still holds the recorded role only when it
// describes that very id.
func TestReconcileSkipsAnAnswerAboutAnotherProvider(t *testing.T) {
	w := orphans()
	p := prov(acct(1), "p-other")
	w.sd.provs["p1"] = p // the read of p1 answers about another provider, with p1's role
	acts, err := Reconcile(context.Background(), w.report(t), ReconcileOptions{Apply: true, Sysdig: &w.sd, Registry: &w.reg})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(w.sd.deleted, "p1") {
		t.Fatalf("deleted %v on an answer about another provider (actions %+v)", w.sd.deleted, acts)
	}
}

// Provider ids are per Sysdig tenant: an orphan registered at another Sysdig URL than the
// one reconcile talks to is never removed there, even when that tenant's provider with the
// same id holds the recorded role.
func TestReconcileSkipsAnOrphanOfAnotherSysdig(t *testing.T) {
	w := orphans()
	w.reg.recs[0].SysdigURL = "https://old-tenant.example.com"
	acts, err := Reconcile(context.Background(), w.report(t), ReconcileOptions{Apply: true, Sysdig: &w.sd, Registry: &w.reg,
		SysdigURL: "https://app.sysdigcloud.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(w.sd.deleted, "p1") || slices.Contains(w.reg.removed, "p1") {
		t.Fatalf("deleted %v, marked %v: a registration of another Sysdig (actions %+v)", w.sd.deleted, w.reg.removed, acts)
	}
	// The stack's own Sysdig, written with or without the trailing slash, is the same one.
	w = orphans()
	if _, err := Reconcile(context.Background(), w.report(t), ReconcileOptions{Apply: true, Sysdig: &w.sd, Registry: &w.reg,
		SysdigURL: "https://app.sysdigcloud.com/"}); err != nil || !slices.Equal(w.sd.deleted, []string{"p1"}) {
		t.Fatalf("deleted %v (%v); want p1", w.sd.deleted, err)
	}
}
