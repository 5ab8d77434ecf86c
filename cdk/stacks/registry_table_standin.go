package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/internal/registry"
)

// registryTable is the deployer's registry of record (logical id RegistryTable, pinned
// in INTERFACES.md), which the drift check scans.
//
// MERGE NOTE (i15-schedule): the registry table is issue 14's (branch i14-registry). This
// branch creates a stand-in with the same logical id, keys and settings only when the
// stack has none yet, so the drift check is deployable and testable here. At merge,
// delete this file's stand-in and return i14-registry's table.
func (s *OrgStack) registryTable() awsdynamodb.CfnTable {
	if c := s.Stack.Node().TryFindChild(jsii.String("RegistryTable")); c != nil {
		return c.(awsdynamodb.CfnTable)
	}
	str := func(name string) *awsdynamodb.CfnTable_AttributeDefinitionProperty {
		return &awsdynamodb.CfnTable_AttributeDefinitionProperty{AttributeName: jsii.String(name), AttributeType: jsii.String("S")}
	}
	return awsdynamodb.NewCfnTable(s.Stack, jsii.String("RegistryTable"), &awsdynamodb.CfnTableProps{
		BillingMode: jsii.String("PAY_PER_REQUEST"),
		KeySchema: []interface{}{
			&awsdynamodb.CfnTable_KeySchemaProperty{AttributeName: jsii.String(registry.AttrStackID), KeyType: jsii.String("HASH")},
			&awsdynamodb.CfnTable_KeySchemaProperty{AttributeName: jsii.String(registry.AttrLogicalResourceID), KeyType: jsii.String("RANGE")},
		},
		AttributeDefinitions:             []interface{}{str(registry.AttrStackID), str(registry.AttrLogicalResourceID)},
		SseSpecification:                 &awsdynamodb.CfnTable_SSESpecificationProperty{SseEnabled: jsii.Bool(true)},
		PointInTimeRecoverySpecification: &awsdynamodb.CfnTable_PointInTimeRecoverySpecificationProperty{PointInTimeRecoveryEnabled: jsii.Bool(true)},
	})
}
