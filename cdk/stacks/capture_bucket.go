package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CaptureBucketProps configures the bucket Sysdig stores captures in (the seed's sysdig_s3).
type CaptureBucketProps struct {
	// BucketName is optional (a token may resolve to AWS::NoValue for a generated name).
	BucketName *string
	// RetentionDays expires captures after that many days (a token is fine).
	RetentionDays *float64
	// Condition, when set, creates the bucket and its policy only when it holds.
	Condition awscdk.CfnCondition
}

// CaptureBucket is an S3 bucket for Sysdig captures: SSE-S3 encrypted, all public access
// blocked, ACLs disabled, a policy that denies any request without TLS, and a lifecycle
// rule that expires old captures and aborts abandoned multipart uploads. It is retained
// when the stack is deleted: captures are the customer's data.
type CaptureBucket struct {
	constructs.Construct
	Bucket awss3.Bucket
}

// NewCaptureBucket creates the bucket.
func NewCaptureBucket(scope constructs.Construct, id string, props *CaptureBucketProps) *CaptureBucket {
	c := constructs.NewConstruct(scope, jsii.String(id))
	b := awss3.NewBucket(c, jsii.String("Bucket"), &awss3.BucketProps{
		BucketName:        props.BucketName,
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		EnforceSSL:        jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireOldCaptures"),
			Enabled:                             jsii.Bool(true),
			Expiration:                          awscdk.Duration_Days(props.RetentionDays),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}},
	})
	suppress(b.Node().DefaultChild(), "AwsSolutions-S1", reasonNoAccessLogs)
	if props.Condition != nil {
		SetCondition(c, props.Condition)
	}
	return &CaptureBucket{Construct: c, Bucket: b}
}
