package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/internal/registry"
)

// EnvRegistryTable names the registry of record's table (lambda/main.go reads it).
const EnvRegistryTable = "REGISTRY_TABLE"

// OutRegistryTableName is the deployer's output naming the registry of record's table
// (`sysdig-connect org status` and the drift check read it).
const OutRegistryTableName = "RegistryTableName"

// addRegistryTable gives the registrar its registry of record (internal/registry): one item
// per registration, the proof of which provider a member's stack resource owns. On demand,
// encrypted, point-in-time recovery on, no TTL (a record lasts as long as the
// registration). The registrar may only read, write and update its items
// (tableItemsStatement: no Scan, no DeleteItem; removals are marked, not erased).
func (s *OrgStack) addRegistryTable(registrar *ConnectorFunctionProps) {
	key := func(name, typ string) interface{} {
		return &awsdynamodb.CfnTable_KeySchemaProperty{AttributeName: jsii.String(name), KeyType: jsii.String(typ)}
	}
	attr := func(name string) interface{} {
		return &awsdynamodb.CfnTable_AttributeDefinitionProperty{AttributeName: jsii.String(name), AttributeType: jsii.String("S")}
	}
	s.RegistryTable = awsdynamodb.NewCfnTable(s.Stack, jsii.String("RegistryTable"), &awsdynamodb.CfnTableProps{
		BillingMode:          jsii.String("PAY_PER_REQUEST"),
		KeySchema:            []interface{}{key(registry.AttrStackID, "HASH"), key(registry.AttrLogicalResourceID, "RANGE")},
		AttributeDefinitions: []interface{}{attr(registry.AttrStackID), attr(registry.AttrLogicalResourceID)},
		SseSpecification:     &awsdynamodb.CfnTable_SSESpecificationProperty{SseEnabled: jsii.Bool(true)},
		PointInTimeRecoverySpecification: &awsdynamodb.CfnTable_PointInTimeRecoverySpecificationProperty{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
	})
	registrar.Environment[EnvRegistryTable] = s.RegistryTable.Ref()
}

// tableItemsStatement lets the registrar read, write and update the items of its tables
// (the idempotency table and the registry of record), nothing else: one statement keeps
// the deployer template small.
func tableItemsStatement(tables ...awsdynamodb.CfnTable) interface{} {
	arns := make([]*string, len(tables))
	for i, t := range tables {
		arns[i] = t.AttrArn()
	}
	return map[string]interface{}{
		"Sid":      "Tables",
		"Effect":   "Allow",
		"Action":   []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		"Resource": arns,
	}
}
