package orgreport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// fakeOrg is an organization in memory: accounts by target OU, and accounts elsewhere.
type fakeOrg struct {
	listed  []Account
	outside map[string]Account // in the organization, outside the target OUs
	listErr error
	descErr map[string]error
}

func (o *fakeOrg) Accounts(context.Context, []string) ([]Account, error) {
	return o.listed, o.listErr
}

func (o *fakeOrg) Account(_ context.Context, id string) (Account, bool, error) {
	if err := o.descErr[id]; err != nil {
		return Account{}, false, err
	}
	for _, a := range o.listed {
		if a.ID == id {
			return a, true, nil
		}
	}
	a, ok := o.outside[id]
	return a, ok, nil
}

type fakeInstances struct {
	list []Instance
	err  error
}

func (f *fakeInstances) Instances(context.Context, string, string) ([]Instance, error) {
	return f.list, f.err
}

type fakeRegistry struct {
	mu      sync.Mutex
	recs    []registry.Record
	err     error
	removed []string
}

func (f *fakeRegistry) List(_ context.Context, fn func(registry.Record) error) error {
	if f.err != nil {
		return f.err
	}
	f.mu.Lock()
	recs := append([]registry.Record(nil), f.recs...)
	f.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// fakeSysdig answers GetProvider from a map; a missing id answers 404.
type fakeSysdig struct {
	mu    sync.Mutex
	provs map[string]sysdig.Provider
	errs  map[string]error
	gets  int
}

func (f *fakeSysdig) GetProvider(_ context.Context, _ sysdig.APIVersion, id string) (sysdig.Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if err := f.errs[id]; err != nil {
		return sysdig.Provider{}, err
	}
	p, ok := f.provs[id]
	if !ok {
		return sysdig.Provider{}, &sysdig.APIError{StatusCode: http.StatusNotFound, Message: "provider " + id + " not found"}
	}
	return p, nil
}

var errDenied = errors.New("AccessDenied: not authorized")

func acct(n int) string { return fmt.Sprintf("1111000000%02d", n) }
