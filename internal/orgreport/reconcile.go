package orgreport

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// Action kinds of a reconcile.
const (
	ActionDeregister = "deregister"   // delete the provider at Sysdig, then mark the record removed
	ActionMarkOnly   = "mark-removed" // the provider is already gone: mark the record removed
	ActionSkip       = "skip"         // an orphan reconcile must not touch: Detail says why
	ActionCommand    = "run-command"  // a StackSet fix to run by hand (never run by reconcile)
)

// Action is one thing a reconcile does (or, in a dry run, would do).
type Action struct {
	Kind       string  `json:"action"`
	Account    string  `json:"account_id"`
	ProviderID string  `json:"provider_id,omitempty"`
	Verdict    Verdict `json:"verdict"`
	Detail     string  `json:"detail"`
	Command    string  `json:"command,omitempty"`
	Done       bool    `json:"done"`
	Error      string  `json:"error,omitempty"`
	// rec is the registration the action's row was planned from: an account may have
	// more than one row, so the action never looks its record up by account.
	rec *registry.Record
}

// Deregisterer deletes a provider at Sysdig (*sysdig.Client).
type Deregisterer interface {
	DeleteProvider(ctx context.Context, v sysdig.APIVersion, id string) error
}

// Marker marks a registration removed (registry.Store.MarkRemoved).
type Marker interface {
	MarkRemoved(ctx context.Context, k registry.Key, providerID string, at time.Time) error
}

// ReconcileOptions say whether to act and with what.
type ReconcileOptions struct {
	Apply    bool // false: a dry run
	Sysdig   Deregisterer
	Registry Marker
	Logger   *slog.Logger // every action, with account and provider id; nil logs nothing
	Now      func() time.Time
	// SysdigURL is the Sysdig API base URL Sysdig talks to (and the report read from):
	// provider ids are per tenant, so an orphan recorded at another URL is skipped.
	SysdigURL string
}

// Plan lists what a reconcile of the report does: deregister each ORPHAN the registry
// says this deployer created (and whose provider at Sysdig still holds the recorded
// role), skip every other orphan with the reason, and give the StackSet command of each
// MISSING and FAILED account to run by hand.
func Plan(r *Report) []Action {
	var out []Action
	for _, row := range r.Rows {
		a := Action{Account: row.AccountID, ProviderID: row.ProviderID, Verdict: row.Verdict}
		switch row.Verdict {
		case VerdictMissing, VerdictFailed:
			a.Kind, a.Command, a.Detail = ActionCommand, row.Fix, row.Detail
		case VerdictOrphan:
			a.Kind, a.Detail = orphanAction(row)
			if row.src != nil {
				a.rec = row.src.rec
			}
			if a.Kind == ActionSkip {
				a.Command = row.Fix
			}
		default:
			continue
		}
		out = append(out, a)
	}
	return out
}

// orphanAction decides what may be done with an orphan, from what the product recorded.
func orphanAction(row Row) (kind, detail string) {
	f := row.src
	switch {
	case f == nil || f.rec == nil || f.fromStack:
		return ActionSkip, "the registry holds no registration of this provider: it was not created by this deployer"
	case f.rec.Origin != registry.OriginCreated:
		return ActionSkip, fmt.Sprintf("the registry says the deployer %s this provider (not created): it is left alone; remove it by hand if it should go", cmpOr(string(f.rec.Origin), "did not record how it got"))
	case f.provRead && sysdig.IsNotFound(f.provErr):
		return ActionMarkOnly, "the provider is already gone from Sysdig: " + row.Detail
	case !f.provRead || f.prov == nil:
		return ActionSkip, "Sysdig was not read for this provider, so it is not known to still hold the recorded role"
	case f.prov.ID != f.rec.ProviderID:
		return ActionSkip, fmt.Sprintf("Sysdig's answer for provider %s describes provider %s: nothing proves it still holds the recorded role", f.rec.ProviderID, f.prov.ID)
	case !sysdig.SameRole(f.prov.RoleARN, f.rec.RoleARN):
		return ActionSkip, fmt.Sprintf("Sysdig's provider holds role %s, not the recorded %s: it is not the one the deployer created", f.prov.RoleARN, f.rec.RoleARN)
	}
	return ActionDeregister, row.Detail
}

// Reconcile carries out the plan when opts.Apply is set (a dry run otherwise) and returns
// the actions with their outcome. It stops at nothing: each failure is in its action,
// and the error joins them.
func Reconcile(ctx context.Context, r *Report, opts ReconcileOptions) ([]Action, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	actions := Plan(r)
	for i := range actions {
		if a := &actions[i]; a.Kind == ActionDeregister && a.rec != nil && otherSysdig(a.rec.SysdigURL, opts.SysdigURL) {
			a.Kind, a.Command = ActionSkip, fixer{}.deregister(a.rec)
			a.Detail = fmt.Sprintf("provider %s was registered at %s, not at %s which reconcile talks to: provider ids are per Sysdig, so it is left alone; remove it there by hand if it should go", a.rec.ProviderID, a.rec.SysdigURL, opts.SysdigURL)
		}
	}
	var failed int
	for i := range actions {
		a := &actions[i]
		attrs := []any{slog.String("action", a.Kind), slog.String("account", a.Account), slog.String("provider_id", a.ProviderID),
			slog.String("verdict", string(a.Verdict)), slog.Bool("apply", opts.Apply)}
		if !opts.Apply || (a.Kind != ActionDeregister && a.Kind != ActionMarkOnly) {
			log.Info(a.Detail, attrs...)
			continue
		}
		if err := apply(ctx, a.Kind, a.rec, opts, now()); err != nil {
			failed++
			a.Error = err.Error()
			log.Error("reconcile failed: "+a.Error, attrs...)
			continue
		}
		a.Done = true
		log.Info("done: "+a.Detail, attrs...)
	}
	if failed > 0 {
		return actions, fmt.Errorf("%d of the reconcile's actions failed (each is logged with its account and provider id)", failed)
	}
	return actions, nil
}

// apply deregisters (404: already gone) and then marks the record removed, conditional
// on the record still holding the provider.
func apply(ctx context.Context, kind string, rec *registry.Record, opts ReconcileOptions, at time.Time) error {
	if rec == nil || opts.Registry == nil || (kind == ActionDeregister && opts.Sysdig == nil) {
		return fmt.Errorf("reconcile has no registry or Sysdig client to act with") //msg:internal a programming error
	}
	if kind == ActionDeregister {
		err := opts.Sysdig.DeleteProvider(ctx, providerAPI(rec, Stack{}), rec.ProviderID)
		if err != nil && !sysdig.IsNotFound(err) {
			return fmt.Errorf("deregister provider %s of account %s at Sysdig: %w", rec.ProviderID, rec.Account, err)
		}
	}
	if err := opts.Registry.MarkRemoved(ctx, rec.Key, rec.ProviderID, at); err != nil {
		return fmt.Errorf("mark registration %s of account %s removed in the registry: %w", rec.ProviderID, rec.Account, err)
	}
	return nil
}

// otherSysdig reports whether a record's Sysdig URL names another Sysdig than the one
// reconcile talks to (unknown on either side: not another).
func otherSysdig(recorded, talking string) bool {
	norm := func(u string) string { return strings.ToLower(strings.TrimRight(strings.TrimSpace(u), "/")) }
	return recorded != "" && talking != "" && norm(recorded) != norm(talking)
}
