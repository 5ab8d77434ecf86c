package stacks

import (
	"strings"
	"testing"

	"sysdig-aws-connect/internal/dedupe"
)

// The deployer's idempotency table: on demand, encrypted, records expiring by TTL, keyed
// as internal/dedupe writes; the registrar finds it in IDEMPOTENCY_TABLE and may only read
// and write its items.
func TestOrgIdempotencyTable(t *testing.T) {
	s := publishedOrg(t)
	table := s.resource(t, "IdempotencyTable")
	equalJSON(t, "type", table["Type"], `"AWS::DynamoDB::Table"`)
	if _, ok := table["Condition"]; ok {
		t.Error("the table must be unconditional: every request to the registrar is recorded")
	}
	equalJSON(t, "table", props(table), `{
		"BillingMode":"PAY_PER_REQUEST",
		"KeySchema":[{"AttributeName":"`+dedupe.AttrKey+`","KeyType":"HASH"}],
		"AttributeDefinitions":[{"AttributeName":"`+dedupe.AttrKey+`","AttributeType":"S"}],
		"SSESpecification":{"SSEEnabled":true},
		"PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true},
		"TimeToLiveSpecification":{"AttributeName":"`+dedupe.AttrExpires+`","Enabled":true}}`)
	// The local table (tests, local runs) has the same key.
	in := dedupe.CreateTableInput("x")
	if len(in.KeySchema) != 1 || *in.KeySchema[0].AttributeName != dedupe.AttrKey || string(in.KeySchema[0].KeyType) != "HASH" {
		t.Errorf("dedupe.CreateTableInput key %+v", in.KeySchema)
	}
	// Records are worthless once the stack is gone: deleted with it (CloudFormation's default).
	if p, ok := table["DeletionPolicy"]; ok && p != "Delete" {
		t.Errorf("DeletionPolicy %v", p)
	}

	fn := props(s.resource(t, "RegistrarFunction"))
	env := fn["Environment"].(map[string]interface{})["Variables"].(map[string]interface{})
	equalJSON(t, "IDEMPOTENCY_TABLE", env[EnvIdempotencyTable], `{"Ref":"IdempotencyTable"}`)

	role := props(s.resource(t, "RegistrarRole"))
	statements := role["Policies"].([]interface{})[0].(map[string]interface{})["PolicyDocument"].(map[string]interface{})["Statement"].([]interface{})
	var found []string
	for _, st := range statements {
		if strings.Contains(canon(st), "dynamodb:") {
			found = append(found, canon(st))
			equalJSON(t, "the registrar's table statement", st, `{"Sid":"Tables","Effect":"Allow",
				"Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem"],
				"Resource":[{"Fn::GetAtt":["IdempotencyTable","Arn"]},{"Fn::GetAtt":["RegistryTable","Arn"]}]}`)
		}
	}
	if len(found) != 1 {
		t.Errorf("want one statement granting the table's item actions, got %v", found)
	}
	// Nothing else in the deployer grants DynamoDB actions but the Sysdig role's read-only
	// monitoring ones (no item actions), here and in the member template the StackSet embeds.
	for id, r := range s.section("Resources") {
		c := canon(r)
		// The drift check scans the registry of record only (drift_check_test.go).
		if id != "RegistrarRole" && id != "DriftCheckRole" && strings.Contains(c, "dynamodb:") && (strings.Contains(c, "Item") || !strings.Contains(c, "dynamodb:DescribeTable")) {
			t.Errorf("%s mentions DynamoDB actions", id)
		}
		if strings.Contains(c, `"IdempotencyTable"`) && id != "RegistrarRole" && id != "RegistrarFunction" && id != "RegistryTable" {
			t.Errorf("%s refers to the idempotency table", id)
		}
	}
}

// The single-account stack (CloudFormation invokes its function directly) and the
// member template have no table; their functions run without deduplication.
func TestOnlyTheDeployerHasAnIdempotencyTable(t *testing.T) {
	for name, doc := range map[string]map[string]interface{}{
		"single account": publishedStack(t).doc, "member": publishedMember(t).doc,
	} {
		c := canon(doc)
		if strings.Contains(c, "AWS::DynamoDB::Table") || strings.Contains(c, EnvIdempotencyTable) {
			t.Errorf("the %s template has an idempotency table", name)
		}
	}
}
