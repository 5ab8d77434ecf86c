package driftcheck_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"sysdig-aws-connect/internal/driftcheck"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/orgreport"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/testutil"
	"sysdig-aws-connect/internal/tokensource"
)

const (
	region  = "eu-west-1"
	mgmt    = "999900000000"
	stackID = "arn:aws:cloudformation:eu-west-1:999900000000:stack/sysdig-org/1f2e"
)

var creds = credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")

// memRegistry is the registry of record in memory (the DynamoDB table's reader is
// registry.Store, tested with its own package).
type memRegistry struct{ recs []registry.Record }

func (m memRegistry) List(_ context.Context, fn func(registry.Record) error) error {
	for _, r := range m.recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// syncBuffer collects the function's output lines, each a JSON object.
type syncBuffer struct{ testutil.SyncBuffer }

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	objects, others := s.JSONLines()
	if len(others) > 0 {
		t.Fatalf("not one JSON object per line: %q", others[0])
	}
	return objects
}

// org is an organization of six accounts in one OU, one of each state the alarm cares
// about, against the AWS stand-ins and the Sysdig emulator.
type org struct {
	cfn    *localaws.CloudFormation
	orgs   *localaws.Organizations
	sm     *localaws.SecretsManager
	sd     *sysdigemu.Server
	urls   map[string]string
	reg    memRegistry
	want   map[string]orgreport.Verdict
	secret string
}

func newOrg(t *testing.T) *org {
	t.Helper()
	o := &org{cfn: localaws.NewCloudFormation(region), orgs: localaws.NewOrganizations(mgmt), sm: localaws.NewSecretsManager(region, mgmt),
		sd: sysdigemu.New(), urls: map[string]string{}, want: map[string]orgreport.Verdict{}}
	for name, start := range map[string]func() (string, func()){"cfn": o.cfn.Start, "org": o.orgs.Start, "sm": o.sm.Start, "sysdig": o.sd.Start} {
		url, stop := start()
		t.Cleanup(stop)
		o.urls[name] = url
	}
	o.secret = o.sm.PutSecret("sysdig/api-token", sysdigemu.DefaultToken)
	ou := o.orgs.AddOU(o.orgs.Root(), "workloads")
	o.cfn.PutStack(localaws.Stack{Name: "sysdig-org", ID: stackID, Status: "UPDATE_COMPLETE",
		Parameters: map[string]string{"OrganizationalUnitIds": ou, "CallAs": "SELF", "ConnectManagementAccount": "false",
			"SysdigRegion": "us1", "ProviderApi": "v1", "SkipTlsVerify": "false"},
		Outputs: map[string]string{"RegistryTableName": "sysdig-org-registry", "ApiTokenSecretArn": o.secret}})
	o.cfn.PutStackSet("sysdig-org-members", "SELF")

	add := func(n int, name string, v orgreport.Verdict) string {
		id := "1111000000" + string(rune('0'+n/10)) + string(rune('0'+n%10))
		o.orgs.AddAccount(ou, id, name)
		o.want[id] = v
		return id
	}
	register := func(id, alias string) string {
		role := "arn:aws:iam::" + id + ":role/sysdig-role"
		pid := o.sd.Seed(sysdig.ProviderSpec{RoleARN: role, Alias: alias})
		o.reg.recs = append(o.reg.recs, registry.Record{Key: registry.Key{StackID: "arn:aws:cloudformation:eu-west-1:" + id + ":stack/StackSet-m/" + id, LogicalResourceID: "SysdigProvider"},
			Account: id, Region: region, RoleARN: role, ProviderID: pid, API: "v1", SysdigURL: o.urls["sysdig"], Alias: "aws-" + id,
			Origin: registry.OriginCreated, State: registry.StateActive, UpdatedAt: time.Unix(1, 0)})
		return pid
	}
	instance := func(id, status, reason string) {
		o.cfn.PutStackInstance("sysdig-org-members", localaws.StackInstance{Account: id, Region: region, OU: ou,
			StackID: "arn:aws:cloudformation:eu-west-1:" + id + ":stack/StackSet-m/" + id, DetailedStatus: status, Reason: reason})
	}
	ok := add(1, "prod", orgreport.VerdictOK)
	instance(ok, localaws.InstanceSucceeded, "")
	register(ok, "aws-"+ok)

	failed := add(2, "<b>staging</b>", orgreport.VerdictFailed)
	instance(failed, localaws.InstanceFailed, "ResourceLogicalId:SysdigRole, ResourceStatusReason:sysdig-role already exists")

	add(3, "new-team", orgreport.VerdictMissing)

	closed := add(4, "closed", orgreport.VerdictOrphan)
	register(closed, "aws-"+closed)
	o.orgs.SetState(closed, localaws.AccountSuspended)

	sick := add(5, "data", orgreport.VerdictUnhealthy)
	instance(sick, localaws.InstanceSucceeded, "")
	o.sd.SetStatus(register(sick, "aws-"+sick), "error", "AccessDenied: sts:AssumeRole on the role")

	drifted := add(6, "web", orgreport.VerdictDrift)
	instance(drifted, localaws.InstanceSucceeded, "")
	register(drifted, "renamed-by-hand")
	return o
}

func (o *org) checker(t *testing.T, metrics, logs *syncBuffer, env map[string]string) *driftcheck.Checker {
	t.Helper()
	base := map[string]string{driftcheck.EnvDeployerStackID: stackID, driftcheck.EnvSysdigAPIURL: o.urls["sysdig"], driftcheck.EnvConcurrentInstances: "5"}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := driftcheck.ConfigFromEnv(func(k string) string { return base[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfn := cloudformation.New(cloudformation.Options{Region: region, BaseEndpoint: aws.String(o.urls["cfn"]), Credentials: creds, RetryMaxAttempts: 2})
	orgs := organizations.New(organizations.Options{Region: "us-east-1", BaseEndpoint: aws.String(o.urls["org"]), Credentials: creds, RetryMaxAttempts: 2})
	sm := secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(o.urls["sm"]), Credentials: creds, RetryMaxAttempts: 2})
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	return driftcheck.New(cfg, driftcheck.Deps{
		CloudFormation: cfn, Organizations: orgs,
		Registry: func(table string) orgreport.Registry {
			if table != "sysdig-org-registry" {
				t.Errorf("registry table %q: want the stack's RegistryTableName output", table)
			}
			return o.reg
		},
		Token: tokensource.NewSecretsManager(sm).Token,
		Sysdig: func(baseURL, token string, skip bool, instances int) (orgreport.Providers, error) {
			if skip || instances != 5 {
				t.Errorf("Sysdig client: skip TLS %v, instances %d", skip, instances)
			}
			return sysdig.New(baseURL, token, sysdig.WithConcurrentInstances(instances))
		},
		Metrics: metrics, Logger: logger,
	})
}

// TestScheduledCheckWritesOneMetricPerVerdictAndALinePerAccount runs the drift check as the
// schedule invokes it, against the AWS stand-ins and the Sysdig emulator, and reads its
// output as CloudWatch Logs would.
func TestScheduledCheckWritesOneMetricPerVerdictAndALinePerAccount(t *testing.T) {
	o := newOrg(t)
	var metrics, logs syncBuffer
	c := o.checker(t, &metrics, &logs, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := c.Handle(ctx, json.RawMessage(driftcheck.ScheduleInput))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}

	want := map[string]int{}
	for _, v := range o.want {
		want[string(v)]++
	}
	lines := metrics.lines(t)
	if len(lines) != len(orgreport.Verdicts) {
		t.Fatalf("%d EMF lines; want one per verdict (%d)", len(lines), len(orgreport.Verdicts))
	}
	for i, m := range lines {
		v := string(orgreport.Verdicts[i])
		directive := `[{"Dimensions":[["StackSet","Verdict"]],"Metrics":[{"Name":"Accounts","Unit":"Count"}],"Namespace":"SysdigAwsConnect"}]`
		meta, _ := m["_aws"].(map[string]any)
		if got, _ := json.Marshal(meta["CloudWatchMetrics"]); string(got) != directive {
			t.Errorf("line %d directive %s", i, got)
		}
		if ts, _ := meta["Timestamp"].(float64); ts <= 0 {
			t.Errorf("line %d: no timestamp", i)
		}
		if m["StackSet"] != "sysdig-org-members" || m["Verdict"] != v || m["Accounts"] != float64(want[v]) {
			t.Errorf("line %d = StackSet %v Verdict %v Accounts %v; want %s %d", i, m["StackSet"], m["Verdict"], m["Accounts"], v, want[v])
		}
	}

	logged := map[string]string{}
	for _, l := range logs.lines(t) {
		if l["msg"] == "drift check: account not OK" {
			id, _ := l["account_id"].(string)
			if _, dup := logged[id]; dup {
				t.Errorf("account %s logged twice", id)
			}
			logged[id], _ = l["verdict"].(string)
			if l["level"] != "WARN" || l["detail"] == "" || l["fix"] == "" {
				t.Errorf("account line without level, detail or fix: %v", l)
			}
		}
	}
	for id, v := range o.want {
		if v == orgreport.VerdictOK {
			if _, ok := logged[id]; ok {
				t.Errorf("OK account %s logged", id)
			}
		} else if logged[id] != string(v) {
			t.Errorf("account %s logged as %q; want %s", id, logged[id], v)
		}
	}
	if res.Accounts != len(o.want) || res.StackSet != "sysdig-org-members" || res.SysdigReads != 4 {
		t.Errorf("result %+v", res)
	}
	if strings.Contains(logs.String(), sysdigemu.DefaultToken) || strings.Contains(metrics.String(), sysdigemu.DefaultToken) {
		t.Error("the token is in the output")
	}
}
