package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/internal/dedupe"
)

// EnvIdempotencyTable names the function's idempotency table (lambda/main.go reads it).
const EnvIdempotencyTable = "IDEMPOTENCY_TABLE"

const reasonNoPITR = "Records of requests in flight; TTL deletes them after 7 days."

// newIdempotencyTable is the registrar's record of the requests it has seen (SNS and
// Lambda's asynchronous invocation deliver at least once; see internal/dedupe): on demand,
// encrypted with the AWS managed key, records expiring by TTL. The key and TTL attribute
// are the ones internal/dedupe writes.
func newIdempotencyTable(scope constructs.Construct) awsdynamodb.CfnTable {
	t := awsdynamodb.NewCfnTable(scope, jsii.String("IdempotencyTable"), &awsdynamodb.CfnTableProps{
		BillingMode:          jsii.String("PAY_PER_REQUEST"),
		KeySchema:            []interface{}{&awsdynamodb.CfnTable_KeySchemaProperty{AttributeName: jsii.String(dedupe.AttrKey), KeyType: jsii.String("HASH")}},
		AttributeDefinitions: []interface{}{&awsdynamodb.CfnTable_AttributeDefinitionProperty{AttributeName: jsii.String(dedupe.AttrKey), AttributeType: jsii.String("S")}},
		SseSpecification:     &awsdynamodb.CfnTable_SSESpecificationProperty{SseEnabled: jsii.Bool(true)},
		TimeToLiveSpecification: &awsdynamodb.CfnTable_TimeToLiveSpecificationProperty{
			AttributeName: jsii.String(dedupe.AttrExpires), Enabled: jsii.Bool(true),
		},
	})
	suppress(t, "AwsSolutions-DDB3", reasonNoPITR)
	return t
}
