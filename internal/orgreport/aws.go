package orgreport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// Parameter and output names of the deployer stack that the report reads.
const (
	ParamOUs               = "OrganizationalUnitIds"
	ParamCallAs            = "CallAs"
	ParamConnectManagement = "ConnectManagementAccount"
	ParamSysdigRegion      = "SysdigRegion"
	ParamSysdigCustomURL   = "SysdigCustomUrl"
	ParamProviderAPI       = "ProviderApi"
	OutputRegistryTable    = "RegistryTableName"
	OutputTokenSecret      = "ApiTokenSecretArn"
	OutputRoleARN          = "SysdigRoleArn"
	OutputProviderID       = "SysdigProviderId"
)

// maxOUDepth bounds the walk down the OU tree: AWS allows five levels of OUs under the root.
const maxOUDepth = 6

// DescribeStacksAPI is the CloudFormation call ReadStack makes.
type DescribeStacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// ReadStack reads the deployer stack's parameters and outputs. SysdigURL is set only for
// a custom (on-prem) URL; for a SaaS region the caller resolves SysdigRegion.
func ReadStack(ctx context.Context, api DescribeStacksAPI, name string) (Stack, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return Stack{}, fmt.Errorf("read the deployer stack %s (CloudFormation DescribeStacks): %w", name, err)
	}
	if len(out.Stacks) != 1 {
		return Stack{}, fmt.Errorf("read the deployer stack %s: CloudFormation answered %d stacks", name, len(out.Stacks))
	}
	s := out.Stacks[0]
	params, outputs := map[string]string{}, map[string]string{}
	for _, p := range s.Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	for _, o := range s.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	st := Stack{
		Name: aws.ToString(s.StackName), ID: aws.ToString(s.StackId), Status: string(s.StackStatus),
		CallAs: cmpOr(params[ParamCallAs], "SELF"), ConnectManagement: params[ParamConnectManagement] == "true",
		RegistryTable: outputs[OutputRegistryTable], SysdigRegion: params[ParamSysdigRegion],
		TokenSecret: outputs[OutputTokenSecret], ProviderAPI: cmpOr(params[ParamProviderAPI], "v1"),
		RoleARN: outputs[OutputRoleARN], ProviderID: outputs[OutputProviderID],
	}
	// arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID
	if parts := strings.SplitN(st.ID, ":", 6); len(parts) == 6 {
		st.Region, st.Account = parts[3], parts[4]
	}
	if st.Region == "" || st.Account == "" {
		return Stack{}, fmt.Errorf("read the deployer stack %s: its id %q is not a CloudFormation stack ARN", name, st.ID)
	}
	// The StackSet's name is fixed by the stack's (cdk/stacks/org_stack.go).
	st.StackSet = st.Name + "-members"
	for _, ou := range strings.Split(params[ParamOUs], ",") {
		if ou = strings.TrimSpace(ou); ou != "" {
			st.OUs = append(st.OUs, ou)
		}
	}
	if strings.EqualFold(st.SysdigRegion, "custom") {
		st.SysdigURL = params[ParamSysdigCustomURL]
	}
	switch {
	case len(st.OUs) == 0 && !st.ConnectManagement:
		return Stack{}, fmt.Errorf("the stack %s has no %s parameter: is it the sysdig-aws-connect organization (deployer) stack?", name, ParamOUs)
	case st.RegistryTable == "":
		return Stack{}, fmt.Errorf("the stack %s has no %s output: update it to a version with the registry of record (see docs/organizations.md)", name, OutputRegistryTable)
	}
	return st, nil
}

// OrganizationsAPI is the part of the Organizations client the report uses.
type OrganizationsAPI interface {
	ListAccountsForParent(ctx context.Context, in *organizations.ListAccountsForParentInput, opts ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListOrganizationalUnitsForParent(ctx context.Context, in *organizations.ListOrganizationalUnitsForParentInput, opts ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
	DescribeAccount(ctx context.Context, in *organizations.DescribeAccountInput, opts ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
	DescribeOrganization(ctx context.Context, in *organizations.DescribeOrganizationInput, opts ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
}

// ManagementAccount is the organization's management account (DescribeOrganization).
func (o *OrgReader) ManagementAccount(ctx context.Context) (string, error) {
	o.calls.Add(1)
	out, err := o.API.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return "", err
	}
	if out.Organization == nil {
		return "", errors.New("DescribeOrganization answered no organization")
	}
	return aws.ToString(out.Organization.MasterAccountId), nil
}

// OrgReader reads accounts from AWS Organizations, every list paginated.
type OrgReader struct {
	API   OrganizationsAPI
	calls atomic.Int64
}

// Calls is how many Organizations requests were made.
func (o *OrgReader) Calls() int64 { return o.calls.Load() }

// Accounts walks the OU tree under each target, depth first.
func (o *OrgReader) Accounts(ctx context.Context, targets []string) ([]Account, error) {
	var out []Account
	seen := map[string]bool{}
	for _, t := range targets {
		if err := o.walk(ctx, t, t, 0, seen, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (o *OrgReader) walk(ctx context.Context, target, parent string, depth int, seen map[string]bool, out *[]Account) error {
	if depth > maxOUDepth {
		return fmt.Errorf("OU %s is nested more than %d levels deep under %s", parent, maxOUDepth, target)
	}
	accounts := organizations.NewListAccountsForParentPaginator(o.API, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
	for accounts.HasMorePages() {
		o.calls.Add(1)
		page, err := accounts.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListAccountsForParent %s: %w", parent, err)
		}
		for _, a := range page.Accounts {
			id := aws.ToString(a.Id)
			if seen[id] { // targets may overlap (an OU and its parent)
				continue
			}
			seen[id] = true
			*out = append(*out, Account{ID: id, Name: aws.ToString(a.Name), State: accountState(a), OU: parent, Target: target})
		}
	}
	ous := organizations.NewListOrganizationalUnitsForParentPaginator(o.API, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
	for ous.HasMorePages() {
		o.calls.Add(1)
		page, err := ous.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListOrganizationalUnitsForParent %s: %w", parent, err)
		}
		for _, ou := range page.OrganizationalUnits {
			if err := o.walk(ctx, target, aws.ToString(ou.Id), depth+1, seen, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// Account describes one account; an account not in the organization is not found.
func (o *OrgReader) Account(ctx context.Context, id string) (Account, bool, error) {
	o.calls.Add(1)
	out, err := o.API.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
	var nf *orgtypes.AccountNotFoundException
	if errors.As(err, &nf) {
		return Account{}, false, nil
	}
	if err != nil {
		return Account{}, false, err
	}
	if out.Account == nil {
		return Account{}, false, fmt.Errorf("DescribeAccount %s answered no account", id)
	}
	return Account{ID: id, Name: aws.ToString(out.Account.Name), State: accountState(*out.Account)}, true, nil
}

// accountState prefers State (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED …) and falls
// back on the older Status field.
func accountState(a orgtypes.Account) string {
	if a.State != "" {
		return string(a.State)
	}
	return string(a.Status) //nolint:staticcheck // older answers carry only Status
}

// ListStackInstancesAPI is the CloudFormation call StackSetReader makes.
type ListStackInstancesAPI interface {
	ListStackInstances(ctx context.Context, in *cloudformation.ListStackInstancesInput, opts ...func(*cloudformation.Options)) (*cloudformation.ListStackInstancesOutput, error)
}

// StackSetReader lists the StackSet's instances, paginated.
type StackSetReader struct {
	API   ListStackInstancesAPI
	calls atomic.Int64
}

// Calls is how many ListStackInstances requests were made.
func (r *StackSetReader) Calls() int64 { return r.calls.Load() }

// Instances lists every stack instance with its detailed status and reason.
func (r *StackSetReader) Instances(ctx context.Context, stackSet, callAs string) ([]Instance, error) {
	in := &cloudformation.ListStackInstancesInput{StackSetName: aws.String(stackSet), MaxResults: aws.Int32(100)}
	if callAs != "" {
		in.CallAs = cfntypes.CallAs(callAs)
	}
	var out []Instance
	pages := cloudformation.NewListStackInstancesPaginator(r.API, in)
	for pages.HasMorePages() {
		r.calls.Add(1)
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Summaries {
			i := Instance{Account: aws.ToString(s.Account), Region: aws.ToString(s.Region), OU: aws.ToString(s.OrganizationalUnitId),
				StackID: aws.ToString(s.StackId), Status: string(s.Status), Reason: aws.ToString(s.StatusReason)}
			if s.StackInstanceStatus != nil {
				i.DetailedStatus = string(s.StackInstanceStatus.DetailedStatus)
			}
			out = append(out, i)
		}
	}
	return out, nil
}
