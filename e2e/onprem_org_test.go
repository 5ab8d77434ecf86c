package e2e

import (
	"context"
	"testing"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/sysdigemu"
)

// The Organizations deployer decides the trusted principal once: the account Sysdig
// reports (SaaS) or its on-prem principal, and every member's role trusts exactly that.
func TestOrganizationTrustedPrincipal(t *testing.T) {
	const member = "100000000001"
	for _, tc := range []struct {
		name       string
		opts       []sysdigemu.Option
		params     map[string]string
		wantMode   string
		wantTrust  func(deployer *cfnsim.Stack) string
		wantParams map[string]string
	}{
		{name: "SaaS: the account Sysdig reports", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID(eu1Account)},
			wantMode:   "None",
			wantTrust:  func(*cfnsim.Stack) string { return "arn:aws:iam::" + eu1Account + ":root" },
			wantParams: map[string]string{"SysdigAwsAccountId": eu1Account}},
		{name: "on-prem, CreateUser: one user for every account", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()},
			params:   map[string]string{"OnPremCredentials": "CreateUser"},
			wantMode: "ExistingPrincipal",
			wantTrust: func(d *cfnsim.Stack) string {
				user, _, _ := d.Resource("OnPremUser")
				return "arn:aws:iam::" + localrun.AccountID + ":user/" + user
			}},
		{name: "on-prem, ExistingPrincipal", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()},
			params:    map[string]string{"OnPremCredentials": "ExistingPrincipal", "OnPremPrincipalArn": "arn:aws:iam::" + localrun.AccountID + ":role/sysdig-backend"},
			wantMode:  "ExistingPrincipal",
			wantTrust: func(*cfnsim.Stack) string { return "arn:aws:iam::" + localrun.AccountID + ":role/sysdig-backend" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := start(t, localrun.Options{FunctionTimeout: orgFunctionTimeout(t), Sysdig: tc.opts})
			iamSrv, _ := env.StartIAM()
			var stackSet map[string]any
			capture := func(_ context.Context, _ *cfnsim.Stack, _ string, props map[string]any) (string, map[string]any, error) {
				stackSet = props
				return "members:1", map[string]any{"StackSetId": "members:1"}, nil
			}
			deployer := env.NewStack(loadTemplate(t, "sysdig-aws-connect-org.json"), "SysdigAwsConnectOrg",
				append(env.AWSProvisioners(iamSrv), cfnsim.WithProvisioner("AWS::CloudFormation::StackSet", capture))...)
			params := map[string]string{"OrganizationId": "o-abcdefghij", "OrganizationalUnitIds": "r-ab12", "SysdigRegion": "custom",
				"SysdigCustomUrl": env.SysdigURL, "ApiTokenSecret": env.SecretARN, "ConnectManagementAccount": "false"}
			for k, v := range tc.params {
				params[k] = v
			}
			if err := deployer.Create(ctx(t), params); err != nil {
				t.Fatal(err)
			}
			want := tc.wantTrust(deployer)
			out, _ := deployer.Outputs()
			if out["SysdigTrustedPrincipal"] != want {
				t.Fatalf("deployer outputs %v, want trusted principal %s", out, want)
			}

			tpl, memberParams := stackSetMembers(t, stackSet)
			if memberParams["OnPremCredentials"] != tc.wantMode {
				t.Fatalf("the StackSet passes %v", memberParams)
			}
			for k, v := range tc.wantParams {
				if memberParams[k] != v {
					t.Fatalf("the StackSet passes %s=%q, want %q", k, memberParams[k], v)
				}
			}
			memberIAM := localaws.NewIAM(member)
			memberURL, stop := memberIAM.Start()
			defer stop()
			m := cfnsim.New(tpl, cfnsim.Pseudo{AccountID: member, Region: localrun.Region, StackName: "StackSet-member"},
				env.Invoker(), env.Responder(), env.AWSProvisioners(memberIAM)...)
			if err := m.Create(ctx(t), memberParams); err != nil {
				t.Fatal(err)
			}
			principal, ext := trustOf(t, memberURL, "sysdig-role")
			if principal != want || ext != sysdigemu.DefaultExternalID {
				t.Fatalf("member role trusts %s / %s, want %s", principal, ext, want)
			}
			if err := m.Delete(ctx(t)); err != nil {
				t.Fatal(err)
			}
			checkLogs(t, env)
		})
	}
}
