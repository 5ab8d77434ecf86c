package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sysdig-aws-connect/internal/driftcheck"
	"sysdig-aws-connect/internal/lambdarun"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localdynamo"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/testutil"
)

// TestDriftCheckUnderTheRuntimeEmulator runs the real bootstrap as the deployer's
// drift-check function (Handler drift-check) with the schedule's payload, against the AWS
// stand-ins (CloudFormation, Organizations, Secrets Manager, DynamoDB) and the Sysdig
// emulator, and reads the Embedded Metric Format lines it prints, as CloudWatch Logs would.
func TestDriftCheckUnderTheRuntimeEmulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const (
		region  = "us-east-1"
		mgmt    = "999900000000"
		stackID = "arn:aws:cloudformation:us-east-1:999900000000:stack/sysdig-org/7a1c"
		table   = "sysdig-org-registry"
	)
	cfn, orgs, sm, sd := localaws.NewCloudFormation(region), localaws.NewOrganizations(mgmt), localaws.NewSecretsManager(region, mgmt), sysdigemu.New()
	urls := map[string]string{}
	for name, start := range map[string]func() (string, func()){"cfn": cfn.Start, "org": orgs.Start, "sm": sm.Start, "sysdig": sd.Start} {
		url, stop := start()
		t.Cleanup(stop)
		urls[name] = url
	}
	ddb, err := localdynamo.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ddb.Close() })
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(table), BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(registry.AttrStackID), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(registry.AttrLogicalResourceID), KeyType: types.KeyTypeRange}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(registry.AttrStackID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(registry.AttrLogicalResourceID), AttributeType: types.ScalarAttributeTypeS}}}); err != nil {
		t.Fatal(err)
	}

	secret := sm.PutSecret("sysdig/api-token", sysdigemu.DefaultToken)
	ou := orgs.AddOU(orgs.Root(), "workloads")
	cfn.PutStack(localaws.Stack{Name: "sysdig-org", ID: stackID, Status: "UPDATE_COMPLETE",
		Parameters: map[string]string{"OrganizationalUnitIds": ou, "CallAs": "SELF", "ConnectManagementAccount": "false", "ProviderApi": "v1", "SkipTlsVerify": "false"},
		Outputs:    map[string]string{"RegistryTableName": table, "ApiTokenSecretArn": secret}})
	cfn.PutStackSet("sysdig-org-members", "SELF")
	// 111100000001 connected; 111100000002 failed; 111100000003 unhealthy at Sysdig;
	// 111100000004 closed after its registration.
	for i, name := range []string{"prod", "staging", "data", "closed"} {
		id := "11110000000" + string(rune('1'+i))
		orgs.AddAccount(ou, id, name)
		stack := "arn:aws:cloudformation:us-east-1:" + id + ":stack/StackSet-m/" + id
		status := localaws.InstanceSucceeded
		if name == "staging" {
			status = localaws.InstanceFailed
		}
		if name != "closed" {
			cfn.PutStackInstance("sysdig-org-members", localaws.StackInstance{Account: id, Region: region, OU: ou, StackID: stack, DetailedStatus: status, Reason: "why " + name})
		}
		if name == "staging" {
			continue
		}
		role := "arn:aws:iam::" + id + ":role/sysdig-role"
		pid := sd.Seed(sysdig.ProviderSpec{RoleARN: role, Alias: "aws-" + id})
		if name == "data" {
			sd.SetStatus(pid, "error", "cannot assume the role")
		}
		item := map[string]types.AttributeValue{}
		for k, v := range map[string]string{registry.AttrStackID: stack, registry.AttrLogicalResourceID: "SysdigProvider", registry.AttrAccount: id,
			registry.AttrRegion: region, registry.AttrRoleARN: role, registry.AttrProviderID: pid, registry.AttrAPI: "v1", registry.AttrSysdigURL: urls["sysdig"],
			registry.AttrAlias: "aws-" + id, registry.AttrOrigin: string(registry.OriginCreated), registry.AttrState: string(registry.StateActive),
			registry.AttrCreatedAt: "2026-12-01T00:00:00Z", registry.AttrUpdatedAt: "2026-12-01T00:00:00Z"} {
			item[k] = &types.AttributeValueMemberS{Value: v}
		}
		if _, err := ddb.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	orgs.SetState("111100000004", localaws.AccountSuspended)

	var out testutil.SyncBuffer
	fn, err := lambdarun.Start(ctx, lambdarun.Config{RIE: rie, Bootstrap: bootstrap, Timeout: 2 * time.Minute, Name: "sysdig-org-drift-check", LogWriter: &out,
		Env: map[string]string{
			"_HANDLER":                         driftcheck.Handler,
			driftcheck.EnvDeployerStackID:      stackID,
			driftcheck.EnvSysdigAPIURL:         urls["sysdig"],
			driftcheck.EnvConcurrentInstances:  "5",
			"AWS_ENDPOINT_URL_CLOUDFORMATION":  urls["cfn"],
			"AWS_ENDPOINT_URL_ORGANIZATIONS":   urls["org"],
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": urls["sm"],
			"AWS_ENDPOINT_URL_DYNAMODB":        ddb.URL,
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	answer, err := fn.Invoke(ctx, []byte(driftcheck.ScheduleInput))
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, out.String())
	}
	var res driftcheck.Result
	if err := json.Unmarshal(answer, &res); err != nil || res.Accounts != 4 || res.SysdigReads != 3 {
		t.Fatalf("answer %s (%v)\n%s", answer, err, out.String())
	}

	want := map[string]float64{"OK": 1, "PENDING": 0, "FAILED": 1, "MISSING": 0, "ORPHAN": 1, "DRIFT": 0, "UNHEALTHY": 1, "UNKNOWN": 0}
	var verdicts []string
	notOK := map[string]string{}
	for _, l := range jsonObjects(&out) {
		if meta, ok := l["_aws"].(map[string]any); ok {
			d, _ := json.Marshal(meta["CloudWatchMetrics"])
			if string(d) != `[{"Dimensions":[["StackSet","Verdict"]],"Metrics":[{"Name":"Accounts","Unit":"Count"}],"Namespace":"SysdigAwsConnect"}]` {
				t.Errorf("EMF directive %s", d)
			}
			v, _ := l["Verdict"].(string)
			verdicts = append(verdicts, v)
			if l["StackSet"] != "sysdig-org-members" || l["Accounts"] != want[v] {
				t.Errorf("EMF line %v: want Accounts %v", l, want[v])
			}
		}
		if l["msg"] == "drift check: account not OK" {
			notOK[l["account_id"].(string)] = l["verdict"].(string)
		}
	}
	if strings.Join(verdicts, ",") != "OK,PENDING,FAILED,MISSING,ORPHAN,DRIFT,UNHEALTHY,UNKNOWN" {
		t.Errorf("EMF lines for %v; want every verdict once, in report order\n%s", verdicts, out.String())
	}
	if len(notOK) != 3 || notOK["111100000002"] != "FAILED" || notOK["111100000003"] != "UNHEALTHY" || notOK["111100000004"] != "ORPHAN" {
		t.Errorf("log lines for the accounts not OK: %v", notOK)
	}
	if strings.Contains(out.String(), sysdigemu.DefaultToken) {
		t.Error("the token is in the function's output")
	}

	// The drift-check handler refuses anything but its schedule's payload.
	if _, err := fn.Invoke(ctx, []byte(`{"RequestType":"Create"}`)); err == nil || !strings.Contains(err.Error(), "refused the event") {
		t.Errorf("a custom-resource request to the drift check: %v", err)
	}
}

// jsonObjects are the output's JSON objects (the emulator's own lines are not JSON).
func jsonObjects(out *testutil.SyncBuffer) []map[string]any {
	objects, _ := out.JSONLines()
	return objects
}
