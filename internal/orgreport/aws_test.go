package orgreport_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/orgreport"
)

var creds = credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")

func orgClient(url string) *organizations.Client {
	return organizations.New(organizations.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, RetryMaxAttempts: 3})
}

func cfnClient(url string) *cloudformation.Client {
	return cloudformation.New(cloudformation.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url), Credentials: creds, RetryMaxAttempts: 3})
}

// TestOrgReaderWalksNestedOUs lists 45 accounts over three levels of OUs (pages of 20)
// with the real Organizations client, with each account's state and direct OU.
func TestOrgReaderWalksNestedOUs(t *testing.T) {
	org := localaws.NewOrganizations("999900000000")
	url, stop := org.Start()
	defer stop()
	prod := org.AddOU(org.Root(), "prod")
	team := org.AddOU(prod, "team")
	deep := org.AddOU(team, "deep")
	other := org.AddOU(org.Root(), "other")
	for i := range 45 {
		parent := []string{prod, team, deep}[i%3]
		org.AddAccount(parent, fmt.Sprintf("1000000000%02d", i), fmt.Sprintf("acct-%d", i))
	}
	org.AddAccount(other, "200000000000", "elsewhere")
	org.SetState("100000000004", localaws.AccountSuspended)

	r := &orgreport.OrgReader{API: orgClient(url)}
	accounts, err := r.Accounts(context.Background(), []string{prod, team}) // overlapping targets
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 45 {
		t.Fatalf("%d accounts, want 45", len(accounts))
	}
	byID := map[string]orgreport.Account{}
	for _, a := range accounts {
		byID[a.ID] = a
	}
	if a := byID["100000000004"]; a.State != "SUSPENDED" || a.OU != team || a.Target != prod || a.Name != "acct-4" {
		t.Fatalf("account 4 = %+v", a)
	}
	if a := byID["100000000002"]; a.OU != deep || a.State != "ACTIVE" {
		t.Fatalf("account 2 = %+v", a)
	}
	// 15 accounts per OU: one page each; one OU page per OU; the second target walks again.
	calls := org.Calls()
	if calls["ListAccountsForParent"] != 5 || calls["ListOrganizationalUnitsForParent"] != 5 || int(r.Calls()) != 10 {
		t.Fatalf("calls %v, reader counted %d", calls, r.Calls())
	}
	a, found, err := r.Account(context.Background(), "200000000000")
	if err != nil || !found || a.State != "ACTIVE" || a.Name != "elsewhere" {
		t.Fatalf("DescribeAccount = %+v %v %v", a, found, err)
	}
	if _, found, err := r.Account(context.Background(), "300000000000"); err != nil || found {
		t.Fatalf("DescribeAccount of a stranger: found %v, err %v", found, err)
	}
	if _, err := r.Accounts(context.Background(), []string{"ou-loc1-99999999"}); err == nil || !strings.Contains(err.Error(), "ParentNotFoundException") {
		t.Fatalf("unknown OU: %v", err)
	}
}

// TestStackSetReaderPages lists 250 instances (pages of 100) with detailed status and reason.
func TestStackSetReaderPages(t *testing.T) {
	cfn := localaws.NewCloudFormation("eu-west-1")
	url, stop := cfn.Start()
	defer stop()
	cfn.PutStackSet("org-members", "DELEGATED_ADMIN")
	for i := range 250 {
		in := localaws.StackInstance{Account: fmt.Sprintf("1000000%05d", i), Region: "eu-west-1", OU: "ou-ab12-cd34ef56",
			StackID: fmt.Sprintf("arn:aws:cloudformation:eu-west-1:1000000%05d:stack/StackSet-x/%d", i, i), DetailedStatus: localaws.InstanceSucceeded}
		if i == 7 {
			in.DetailedStatus, in.Reason = localaws.InstanceFailed, "ResourceLogicalId:SysdigRole, ResourceStatusReason:already exists"
		}
		cfn.PutStackInstance("org-members", in)
	}
	r := &orgreport.StackSetReader{API: cfnClient(url)}
	list, err := r.Instances(context.Background(), "org-members", "DELEGATED_ADMIN")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 250 || r.Calls() != 3 {
		t.Fatalf("%d instances in %d calls", len(list), r.Calls())
	}
	got := list[7]
	if got.DetailedStatus != "FAILED" || got.Status != "OUTDATED" || !strings.Contains(got.Reason, "already exists") || got.OU != "ou-ab12-cd34ef56" || got.StackID == "" {
		t.Fatalf("instance 7 = %+v", got)
	}
	if _, err := r.Instances(context.Background(), "org-members", "SELF"); err == nil || !strings.Contains(err.Error(), "StackSetNotFound") {
		t.Fatalf("wrong CallAs: %v", err)
	}
}

// TestReadStack reads the deployer's parameters and outputs with the real client.
func TestReadStack(t *testing.T) {
	cfn := localaws.NewCloudFormation("eu-west-1")
	url, stop := cfn.Start()
	defer stop()
	id := "arn:aws:cloudformation:eu-west-1:999900000000:stack/sysdig-org/abc"
	cfn.PutStack(localaws.Stack{Name: "sysdig-org", ID: id, Status: "UPDATE_COMPLETE",
		Parameters: map[string]string{"OrganizationalUnitIds": "ou-ab12-cd34ef56, r-ab12", "CallAs": "SELF", "ConnectManagementAccount": "true",
			"SysdigRegion": "custom", "SysdigCustomUrl": "https://sysdig.example.com", "ProviderApi": "v2"},
		Outputs: map[string]string{"RegistryTableName": "reg", "ApiTokenSecretArn": "arn:aws:secretsmanager:eu-west-1:999900000000:secret:t",
			"SysdigProviderId": "3", "SysdigRoleArn": "arn:aws:iam::999900000000:role/sysdig-role"}})
	st, err := orgreport.ReadStack(context.Background(), cfnClient(url), "sysdig-org")
	if err != nil {
		t.Fatal(err)
	}
	want := orgreport.Stack{Name: "sysdig-org", ID: id, Region: "eu-west-1", Account: "999900000000", Status: "UPDATE_COMPLETE",
		StackSet: "sysdig-org-members", CallAs: "SELF", OUs: []string{"ou-ab12-cd34ef56", "r-ab12"}, ConnectManagement: true,
		RegistryTable: "reg", SysdigRegion: "custom", SysdigURL: "https://sysdig.example.com",
		TokenSecret: "arn:aws:secretsmanager:eu-west-1:999900000000:secret:t", ProviderAPI: "v2",
		RoleARN: "arn:aws:iam::999900000000:role/sysdig-role", ProviderID: "3"}
	if fmt.Sprintf("%+v", st) != fmt.Sprintf("%+v", want) {
		t.Fatalf("stack =\n%+v\nwant\n%+v", st, want)
	}
	cfn.PutStack(localaws.Stack{Name: "old", ID: "arn:aws:cloudformation:eu-west-1:999900000000:stack/old/abc",
		Parameters: map[string]string{"OrganizationalUnitIds": "r-ab12"}})
	if _, err := orgreport.ReadStack(context.Background(), cfnClient(url), "old"); err == nil || !strings.Contains(err.Error(), "RegistryTableName") {
		t.Fatalf("stack without the registry: %v", err)
	}
	if _, err := orgreport.ReadStack(context.Background(), cfnClient(url), "nope"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing stack: %v", err)
	}
}
