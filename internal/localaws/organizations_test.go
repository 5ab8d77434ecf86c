package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

func orgFixture(t *testing.T) (*Organizations, string, string) {
	t.Helper()
	o := NewOrganizations("999900000000")
	url, stop := o.Start()
	t.Cleanup(stop)
	ou := o.AddOU(o.Root(), "Workloads")
	for i := range 25 {
		o.AddAccount(ou, fmt.Sprintf("1000000000%02d", i), fmt.Sprintf("a%d", i))
	}
	o.SetState("100000000003", AccountPendingClosure)
	return o, url, ou
}

// TestOrganizationsSDK reads the stand-in with the real SDK client: every action the
// report calls, pages of 20, and AWS's error for an unknown account.
func TestOrganizationsSDK(t *testing.T) {
	o, url, ou := orgFixture(t)
	c := organizations.New(organizations.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", ""), RetryMaxAttempts: 3})
	ctx := context.Background()
	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 || aws.ToString(roots.Roots[0].Id) != o.Root() {
		t.Fatalf("ListRoots: %+v %v", roots, err)
	}
	var accounts []orgtypes.Account
	p := organizations.NewListAccountsForParentPaginator(c, &organizations.ListAccountsForParentInput{ParentId: aws.String(ou)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, page.Accounts...)
	}
	if len(accounts) != 25 || o.Calls()["ListAccountsForParent"] != 2 || accounts[3].State != orgtypes.AccountStatePendingClosure || accounts[0].JoinedTimestamp == nil {
		t.Fatalf("%d accounts in %d calls; account 3: %+v", len(accounts), o.Calls()["ListAccountsForParent"], accounts[3])
	}
	children, err := c.ListChildren(ctx, &organizations.ListChildrenInput{ParentId: aws.String(o.Root()), ChildType: orgtypes.ChildTypeOrganizationalUnit})
	if err != nil || len(children.Children) != 1 || aws.ToString(children.Children[0].Id) != ou {
		t.Fatalf("ListChildren: %+v %v", children, err)
	}
	org, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil || aws.ToString(org.Organization.MasterAccountId) != "999900000000" {
		t.Fatalf("DescribeOrganization: %+v %v", org, err)
	}
	_, err = c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("200000000000")})
	var nf *orgtypes.AccountNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeAccount of a stranger: %v", err)
	}
	_, err = c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-none-00000000")})
	var pnf *orgtypes.ParentNotFoundException
	if !errors.As(err, &pnf) {
		t.Fatalf("unknown parent: %v", err)
	}
}

// TestOrganizationsAWSCLI reads the stand-in with an independent client, the awscli, which
// follows NextToken itself.
func TestOrganizationsAWSCLI(t *testing.T) {
	_, url, ou := orgFixture(t)
	path, env := awsCLI(t)
	out := runAWS(t, path, env, "organizations", "list-accounts-for-parent", "--endpoint-url", url, "--output", "json", "--parent-id", ou)
	var got struct{ Accounts []struct{ Id, State string } }
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Accounts) != 25 || got.Accounts[3].State != "PENDING_CLOSURE" {
		t.Fatalf("aws output %q: %v", out, err)
	}
	out = runAWS(t, path, env, "organizations", "describe-account", "--endpoint-url", url, "--output", "json", "--account-id", "100000000007")
	if !strings.Contains(out, `"Name": "a7"`) {
		t.Fatalf("describe-account: %s", out)
	}
}
