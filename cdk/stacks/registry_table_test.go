package stacks

import (
	"strings"
	"testing"

	"sysdig-aws-connect/internal/registry"
)

// The deployer's registry of record: its own table keyed as internal/registry writes it,
// encrypted, with point-in-time recovery and no TTL; the registrar finds it in
// REGISTRY_TABLE and may only read, write and update its items (TestOrgIdempotencyTable
// checks the one statement granting them); the deployer names it in RegistryTableName.
func TestOrgRegistryTable(t *testing.T) {
	s := publishedOrg(t)
	table := s.resource(t, "RegistryTable")
	equalJSON(t, "type", table["Type"], `"AWS::DynamoDB::Table"`)
	if _, ok := table["Condition"]; ok {
		t.Error("the table must be unconditional: every registration is recorded")
	}
	equalJSON(t, "table", props(table), `{
		"BillingMode":"PAY_PER_REQUEST",
		"KeySchema":[{"AttributeName":"`+registry.AttrStackID+`","KeyType":"HASH"},{"AttributeName":"`+registry.AttrLogicalResourceID+`","KeyType":"RANGE"}],
		"AttributeDefinitions":[{"AttributeName":"`+registry.AttrStackID+`","AttributeType":"S"},{"AttributeName":"`+registry.AttrLogicalResourceID+`","AttributeType":"S"}],
		"PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true},
		"SSESpecification":{"SSEEnabled":true}}`)
	// The local table (tests, local runs) has the same keys.
	in := registry.CreateTableInput("x")
	if len(in.KeySchema) != 2 || *in.KeySchema[0].AttributeName != registry.AttrStackID || *in.KeySchema[1].AttributeName != registry.AttrLogicalResourceID {
		t.Errorf("registry.CreateTableInput key %+v", in.KeySchema)
	}

	fn := props(s.resource(t, "RegistrarFunction"))
	env := fn["Environment"].(map[string]interface{})["Variables"].(map[string]interface{})
	equalJSON(t, "REGISTRY_TABLE", env[EnvRegistryTable], `{"Ref":"RegistryTable"}`)
	out, ok := s.section("Outputs")[OutRegistryTableName].(map[string]interface{})
	if !ok {
		t.Fatalf("no %s output", OutRegistryTableName)
	}
	equalJSON(t, OutRegistryTableName, out["Value"], `{"Ref":"RegistryTable"}`)
	if _, ok := out["Condition"]; ok {
		t.Errorf("%s must be unconditional", OutRegistryTableName)
	}
	for id, r := range s.section("Resources") {
		if c := canon(r); strings.Contains(c, `"RegistryTable"`) && id != "RegistrarRole" && id != "RegistrarFunction" && id != "Operations" {
			t.Errorf("%s refers to the registry table", id)
		}
	}
	// The drift check (in the operations stack) may scan it: its ARN, nothing else.
	equalJSON(t, "passed to the operations stack", props(s.resource(t, "Operations"))["Parameters"].(map[string]interface{})[ParamOpsRegistryTableArn],
		`{"Fn::GetAtt":["RegistryTable","Arn"]}`)
	// The member template and the single-account stack have no registry.
	for name, doc := range map[string]map[string]interface{}{"single account": publishedStack(t).doc, "member": publishedMember(t).doc} {
		if strings.Contains(canon(doc), EnvRegistryTable) {
			t.Errorf("the %s template names a registry", name)
		}
	}
}
