// Package orgsim is an AWS Organization on this machine, for `make demo-org`, the org
// commands' tests and the 10,000-account benchmark: the Organizations and CloudFormation
// stand-ins of internal/localaws (the deployer stack and its StackSet's instances),
// DynamoDB (dynalite) holding the registry of record, and the Sysdig emulator. Accounts
// are connected the way the registrar leaves them: a stack instance, a provider at Sysdig
// and the registry's record of it.
package orgsim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localdynamo"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// Names of the simulated deployment.
const (
	Region      = "eu-west-1"
	Management  = "999900000000"
	StackName   = "SysdigAwsConnectOrg"
	StackSet    = StackName + "-members"
	Table       = StackName + "-registry"
	Token       = "local-org-token-7c4e9a1b-demo"
	RoleName    = "sysdig-role"
	AliasPrefix = "acme-"
)

// Options size the world.
type Options struct {
	// RatePerMinute is the Sysdig emulator's limit, stated in X-RateLimit-Limit and
	// enforced with 429; 0 states none.
	RatePerMinute int
}

// World is one running organization. Close stops it.
type World struct {
	Org    *localaws.Organizations
	CFN    *localaws.CloudFormation
	Sysdig *sysdigemu.Server
	Dynamo *localdynamo.Server
	Store  *registry.Store

	OrgURL, CFNURL, SysdigURL string
	Root                      string
	Target                    string // the target OU of the StackSet
	StackID                   string

	stops []func()
}

// Start runs the stand-ins and creates the deployer stack (targeting one OU, "Workloads",
// under the root), its StackSet and the registry table.
func Start(ctx context.Context, opts Options) (*World, error) {
	w := &World{Org: localaws.NewOrganizations(Management), CFN: localaws.NewCloudFormation(Region)}
	var err error
	if w.Dynamo, err = localdynamo.Start(ctx); err != nil {
		return nil, fmt.Errorf("start the local DynamoDB: %w", err)
	}
	w.stops = append(w.stops, func() { _ = w.Dynamo.Close() })
	if _, err := w.Dynamo.CreateTable(ctx, registry.CreateTableInput(Table)); err != nil {
		w.Close()
		return nil, err
	}
	w.Store = registry.New(w.Dynamo.Client(), Table)
	var stop func()
	w.OrgURL, stop = w.Org.Start()
	w.stops = append(w.stops, stop)
	w.CFNURL, stop = w.CFN.Start()
	w.stops = append(w.stops, stop)
	sopts := []sysdigemu.Option{sysdigemu.WithToken(Token)}
	if opts.RatePerMinute > 0 {
		sopts = append(sopts, sysdigemu.WithRateLimitPerMinute(opts.RatePerMinute, 5))
	}
	w.Sysdig = sysdigemu.New(sopts...)
	w.SysdigURL, stop = w.Sysdig.Start()
	w.stops = append(w.stops, stop)

	w.Root = w.Org.Root()
	w.Target = w.Org.AddOU(w.Root, "Workloads")
	w.StackID = "arn:aws:cloudformation:" + Region + ":" + Management + ":stack/" + StackName + "/4d1c0a2e-0000-4000-8000-000000000001"
	w.CFN.PutStackSet(StackSet, "SELF")
	w.CFN.PutStack(localaws.Stack{Name: StackName, ID: w.StackID, Status: "CREATE_COMPLETE",
		Parameters: map[string]string{"OrganizationalUnitIds": w.Target, "CallAs": "SELF", "ConnectManagementAccount": "false",
			"SysdigRegion": "custom", "SysdigCustomUrl": w.SysdigURL, "ProviderApi": "v1", "RoleName": RoleName,
			"ProviderAliasPrefix": AliasPrefix, "DiscoveryRegions": Region},
		Outputs: map[string]string{"RegistryTableName": Table,
			"ApiTokenSecretArn": "arn:aws:secretsmanager:" + Region + ":" + Management + ":secret:" + StackName + "-token-AbCdEf"}})
	return w, nil
}

// Close stops everything Start started.
func (w *World) Close() {
	for i := len(w.stops) - 1; i >= 0; i-- {
		w.stops[i]()
	}
	w.stops = nil
}

// Env is the environment the CLI needs to reach the stand-ins the standard way.
func (w *World) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_CLOUDFORMATION=" + w.CFNURL,
		"AWS_ENDPOINT_URL_ORGANIZATIONS=" + w.OrgURL,
		"AWS_ENDPOINT_URL_DYNAMODB=" + w.Dynamo.URL,
		"AWS_ACCESS_KEY_ID=AKIDLOCALORG", "AWS_SECRET_ACCESS_KEY=local-org-secret", "AWS_REGION=" + Region,
		"SYSDIG_MONITOR_API_TOKEN=" + Token,
	}
}

// RoleARN is the role the member stack creates in an account.
func RoleARN(account string) string { return "arn:aws:iam::" + account + ":role/" + RoleName }

// InstanceStackID is the stack id of an account's stack instance.
func InstanceStackID(account string) string {
	return "arn:aws:cloudformation:" + Region + ":" + account + ":stack/StackSet-" + StackSet + "-1a2b/00000000-0000-4000-8000-" + account
}

// AddAccount puts an account in the OU parent (no instance yet).
func (w *World) AddAccount(parent, account, name string) { w.Org.AddAccount(parent, account, name) }

// Connect is what a successful stack instance leaves: the instance SUCCEEDED, the
// provider at Sysdig and the registry's record that the registrar created it. It
// returns the provider id.
func (w *World) Connect(ctx context.Context, account, ou string) (string, error) {
	w.CFN.PutStackInstance(StackSet, localaws.StackInstance{Account: account, Region: Region, OU: w.Target,
		StackID: InstanceStackID(account), DetailedStatus: localaws.InstanceSucceeded})
	id := w.Sysdig.Seed(sysdig.ProviderSpec{RoleARN: RoleARN(account), Alias: AliasPrefix + account, Regions: []string{Region}})
	now := time.Now().UTC()
	err := w.Store.Put(ctx, registry.Record{Key: registry.Key{StackID: InstanceStackID(account), LogicalResourceID: "SysdigProvider"},
		Account: account, Region: Region, RoleARN: RoleARN(account), ProviderID: id, API: "v1", SysdigURL: w.SysdigURL,
		Alias: AliasPrefix + account, Regions: []string{Region}, Origin: registry.OriginCreated, State: registry.StateActive,
		CreatedAt: now, UpdatedAt: now, LastStatus: "configured"})
	if err != nil {
		return "", fmt.Errorf("record account %s in the registry: %w", account, err)
	}
	return id, nil
}

// ConnectMany adds n accounts under the target OU (spread over sub-OUs of 500) and
// connects each, a few at a time. Account ids start at first.
func (w *World) ConnectMany(ctx context.Context, n int, first int64) error {
	var ous []string
	for i := 0; i < n; i += 500 {
		ous = append(ous, w.Org.AddOU(w.Target, fmt.Sprintf("Team-%d", i/500)))
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				a := fmt.Sprintf("%012d", first+int64(i))
				w.AddAccount(ous[i/500], a, "account-"+a)
				if _, err := w.Connect(ctx, a, ous[i/500]); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return errors.Join(errs...)
}
