package orgsim

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/sysdig"
)

// Scenario names the accounts of the demo organization by what happens to them.
type Scenario struct {
	OK             []string // connected and healthy
	Closed         string   // closed after its registration: ORPHAN, removed by reconcile
	Failed         string   // its stack instance failed: FAILED
	Unhealthy      string   // Sysdig reports an error for its provider: UNHEALTHY
	NoInstance     string   // in a target OU with no stack instance: MISSING
	Pending        string   // a StackSet operation is running: PENDING
	Drifted        string   // its provider's alias was changed at Sysdig by hand: DRIFT
	NoStatus       string   // Sysdig's answer has no status: UNKNOWN
	ClosedProvider string   // the closed account's provider id
}

func demoAccount(i int) string { return fmt.Sprintf("1234000000%02d", i) }

// PlayScenario builds an organization of 20 accounts in two OUs under the target OU and
// gives every verdict at least one account.
func (w *World) PlayScenario(ctx context.Context) (Scenario, error) {
	prod := w.Org.AddOU(w.Target, "Prod")
	dev := w.Org.AddOU(w.Target, "Dev")
	names := []string{"payments", "ledger", "checkout", "search", "catalog", "identity", "billing", "reports",
		"data-lake", "ml-train", "sandbox-a", "sandbox-b", "ci", "logging", "legacy-crm", "networking", "new-team", "analytics", "marketing", "edge"}
	var sc Scenario
	ids := map[string]string{}
	for i, name := range names {
		a, ou := demoAccount(i+1), prod
		if i%2 == 1 {
			ou = dev
		}
		w.AddAccount(ou, a, name)
		switch i + 1 {
		case 16: // FAILED: the role already existed in the account
			sc.Failed = a
			w.CFN.PutStackInstance(StackSet, localaws.StackInstance{Account: a, Region: Region, OU: w.Target, StackID: InstanceStackID(a),
				DetailedStatus: localaws.InstanceFailed,
				Reason:         "ResourceLogicalId:SysdigRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:sysdig-role already exists in stack arn:aws:cloudformation:eu-west-1:" + a + ":stack/old-sysdig/1."})
			continue
		case 17: // MISSING: no stack instance
			sc.NoInstance = a
			continue
		case 18: // PENDING: the StackSet is deploying it now
			sc.Pending = a
			w.CFN.PutStackInstance(StackSet, localaws.StackInstance{Account: a, Region: Region, OU: w.Target, DetailedStatus: localaws.InstanceRunning})
			continue
		}
		id, err := w.Connect(ctx, a, ou)
		if err != nil {
			return Scenario{}, err
		}
		ids[a] = id
		switch i + 1 {
		case 15:
			sc.Closed, sc.ClosedProvider = a, id
		case 14:
			sc.NoStatus = a
		case 19:
			sc.Unhealthy = a
		case 20:
			sc.Drifted = a
		default:
			sc.OK = append(sc.OK, a)
		}
	}
	// After their registration: the account is closed (StackSets skip suspended accounts,
	// so its instance and its provider stay), Sysdig loses the use of one role, one
	// answer comes without a status, and someone renames a provider in Sysdig's UI.
	w.Org.SetState(sc.Closed, localaws.AccountSuspended)
	w.CFN.SetDetailedStatus(StackSet, sc.Closed, Region, "SKIPPED_SUSPENDED_ACCOUNT")
	w.Sysdig.SetStatus(ids[sc.Unhealthy], "error", "AccessDenied: Sysdig could not assume "+RoleARN(sc.Unhealthy)+": check the role's trust policy and external ID")
	w.Sysdig.SetStatus(ids[sc.NoStatus], "", "")
	c, err := sysdig.New(w.SysdigURL, Token)
	if err != nil {
		return Scenario{}, err
	}
	if _, err := c.UpdateProvider(ctx, sysdig.V1, ids[sc.Drifted], sysdig.ProviderSpec{RoleARN: RoleARN(sc.Drifted), Alias: "renamed-by-hand", Regions: []string{Region}}); err != nil {
		return Scenario{}, fmt.Errorf("rename provider %s: %w", ids[sc.Drifted], err)
	}
	return sc, nil
}

// CloudFormation is a real SDK client for the CloudFormation stand-in.
func (w *World) CloudFormation() *cloudformation.Client {
	return cloudformation.New(cloudformation.Options{Region: Region, BaseEndpoint: aws.String(w.CFNURL), Credentials: creds, RetryMaxAttempts: 3})
}

// Organizations is a real SDK client for the Organizations stand-in.
func (w *World) Organizations() *organizations.Client {
	return organizations.New(organizations.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.OrgURL), Credentials: creds, RetryMaxAttempts: 3})
}

var creds = credentials.NewStaticCredentialsProvider("AKIDLOCALORG", "local-org-secret", "")
