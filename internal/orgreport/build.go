package orgreport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// defaultSysdigWorkers hides each answer's latency behind the pacer's spacing.
const defaultSysdigWorkers = 4

// facts is everything read about one account; classify turns it into a verdict.
type facts struct {
	id        string
	acct      Account
	inTarget  bool  // listed under the target OUs
	found     bool  // in the organization at all
	acctErr   error // the Organizations read that failed
	mgmt      bool  // the management account the deployer connects itself
	mgmtOff   bool  // the management account, which StackSets never deploy to, not connected (ConnectManagementAccount false)
	inst      *Instance
	instErr   error
	rec       *registry.Record // the account's registration in force
	regErr    error
	prov      *sysdig.Provider
	provErr   error
	provRead  bool // Sysdig was read for this account
	fromStack bool // rec comes from the deployer's outputs, not the registry: role only
}

// Build reads every source once and returns one row per account (and one more for each
// extra registration in force for it): every account under the
// target OUs, every account with a stack instance or a registration in force, and the
// management account when the deployer connects it. A failed read does not fail the
// report: the rows it concerns say UNKNOWN and which read failed. The error is for a
// report that cannot be made at all (no StackSet name, a missing source).
func Build(ctx context.Context, src Sources, opts Options) (*Report, error) {
	st := src.Stack
	if st.StackSet == "" || src.Org == nil || src.Instances == nil || src.Registry == nil {
		//msg:internal a programming error: the CLI and the drift check always give them
		return nil, errors.New("orgreport: Build needs the stack's StackSet name and the Organizations, StackSet and registry readers")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	all := map[string]*facts{}
	get := func(id string) *facts {
		f, ok := all[id]
		if !ok {
			f = &facts{id: id}
			all[id] = f
		}
		return f
	}

	accounts, orgErr := src.Org.Accounts(ctx, st.OUs)
	if orgErr != nil {
		orgErr = fmt.Errorf("AWS Organizations listing of %v: %w", st.OUs, orgErr)
	}
	for _, a := range accounts {
		f := get(a.ID)
		f.acct, f.inTarget, f.found = a, true, true
	}
	insts, instErr := src.Instances.Instances(ctx, st.StackSet, st.CallAs)
	if instErr != nil {
		instErr = fmt.Errorf("CloudFormation ListStackInstances of %s: %w", st.StackSet, instErr)
	}
	for i := range insts {
		in := &insts[i]
		f := get(in.Account)
		// One region is deployed; should there be more, the deployer's region speaks.
		if f.inst == nil || in.Region == st.Region {
			f.inst = in
		}
	}
	recs, regErr := activeRecords(ctx, src.Registry)
	if regErr != nil {
		regErr = fmt.Errorf("registry %s scan: %w", st.RegistryTable, regErr)
	}
	if st.ConnectManagement && st.Account != "" {
		get(st.Account).mgmt = true
	} else if m := managementAccount(ctx, src.Org, st); m != "" {
		if f, ok := all[m]; ok {
			f.mgmtOff = true
		}
	}
	for _, r := range recs {
		get(r.Account)
	}
	for id, f := range all {
		f.acctErr, f.instErr, f.regErr = orgErr, instErr, regErr
		f.rec = pickRecord(recs, id, f, st)
		if f.mgmt && f.rec == nil && st.ProviderID != "" && regErr == nil {
			// The deployer's own registration, as its outputs state it.
			f.rec = &registry.Record{Key: registry.Key{StackID: st.ID, LogicalResourceID: "SysdigProvider"},
				Account: id, Region: st.Region, RoleARN: st.RoleARN, ProviderID: st.ProviderID, API: st.ProviderAPI,
				SysdigURL: st.SysdigURL, State: registry.StateActive}
			f.fromStack = true
		}
		if orgErr == nil && !f.inTarget {
			// Outside the target OUs: where is it, if still in the organization?
			a, found, err := src.Org.Account(ctx, id)
			switch {
			case err != nil:
				f.acctErr = fmt.Errorf("AWS Organizations DescribeAccount %s: %w", id, err)
			case found:
				f.acct, f.found = a, true
			}
		}
		f.acct.ID = id
	}
	// A second registration in force for an account (its stack instance was replaced and
	// the old one's Delete never came) has no instance left: a row of its own, an orphan.
	for _, r := range recs {
		f := all[r.Account]
		if f == nil || f.rec == nil || f.rec.Key == r.Key {
			continue
		}
		extra := *f
		extra.rec, extra.inst, extra.fromStack, extra.mgmt = &r, nil, false, false
		all[r.Account+"/"+r.StackID+"/"+r.LogicalResourceID] = &extra
	}
	if src.Sysdig != nil {
		readProviders(ctx, src.Sysdig, all, st, opts)
	}

	rep := &Report{Generated: now.UTC(), Stack: st.Name, StackSet: st.StackSet, Rows: make([]Row, 0, len(all))}
	for _, f := range all {
		rep.Rows = append(rep.Rows, classify(f, st, src.Sysdig != nil))
	}
	slices.SortFunc(rep.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.ProviderID, b.ProviderID))
	})
	rep.Count()
	return rep, nil
}

// managementAccount names the organization's management account, where a service-managed
// StackSet never deploys: from Organizations when it can say, else the deployer's own
// account when it runs there (CallAs SELF); "" when unknown.
func managementAccount(ctx context.Context, org Organization, st Stack) string {
	if m, ok := org.(ManagementAccounter); ok {
		if id, err := m.ManagementAccount(ctx); err == nil && id != "" {
			return id
		}
	}
	if st.CallAs == "" || st.CallAs == "SELF" {
		return st.Account
	}
	return ""
}

// activeRecords lists the registrations in force.
func activeRecords(ctx context.Context, reg Registry) ([]registry.Record, error) {
	var out []registry.Record
	err := reg.List(ctx, func(r registry.Record) error {
		if r.State == registry.StateActive && r.ProviderID != "" {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// pickRecord is the account's registration: the one of its current stack instance (or,
// for the management account, of the deployer stack), else the most recently updated.
func pickRecord(recs []registry.Record, account string, f *facts, st Stack) *registry.Record {
	var best *registry.Record
	for i := range recs {
		r := &recs[i]
		if r.Account != account {
			continue
		}
		if (f.inst != nil && r.StackID == f.inst.StackID) || (f.mgmt && r.StackID == st.ID) {
			return r
		}
		if best == nil || r.UpdatedAt.After(best.UpdatedAt) {
			best = r
		}
	}
	return best
}

// providerAPI is the API a record's provider lives under (the stack's when unrecorded).
func providerAPI(r *registry.Record, st Stack) sysdig.APIVersion {
	if v, err := sysdig.ParseAPIVersion(cmp.Or(r.API, st.ProviderAPI, "v1")); err == nil {
		return v
	}
	return sysdig.V1
}

// readProviders reads each registered provider once at Sysdig, a few at a time; the
// client's pacer keeps the reads within Sysdig's X-RateLimit-Limit.
func readProviders(ctx context.Context, api Providers, all map[string]*facts, st Stack, opts Options) {
	var todo []*facts
	for _, f := range all {
		switch {
		case f.rec == nil:
		case otherSysdig(f.rec.SysdigURL, opts.SysdigURL):
			f.provErr = fmt.Errorf("provider %s was registered at %s, not at %s which this report reads; provider ids are per Sysdig, so it was not read",
				f.rec.ProviderID, f.rec.SysdigURL, opts.SysdigURL)
		default:
			todo = append(todo, f)
		}
	}
	slices.SortFunc(todo, func(a, b *facts) int { return cmp.Compare(a.id, b.id) })
	workers := cmp.Or(opts.SysdigWorkers, defaultSysdigWorkers)
	var mu sync.Mutex
	done := 0
	read := func(f *facts) {
		p, err := api.GetProvider(ctx, providerAPI(f.rec, st), f.rec.ProviderID)
		f.provRead = true
		if err != nil {
			f.provErr = err
		} else {
			f.prov = &p
		}
		if opts.Progress != nil {
			mu.Lock()
			done++
			opts.Progress(done, len(todo))
			mu.Unlock()
		}
	}
	if len(todo) == 0 {
		return
	}
	// The first answer states the limit (X-RateLimit-Limit) the pacer then follows: read
	// it alone, so the workers never start in a burst the limit does not allow.
	read(todo[0])
	jobs := make(chan *facts)
	var wg sync.WaitGroup
	for range min(workers, len(todo)) {
		wg.Go(func() {
			for f := range jobs {
				read(f)
			}
		})
	}
	for _, f := range todo[1:] {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
}
