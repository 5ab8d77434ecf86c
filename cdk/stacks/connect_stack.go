package stacks

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/cdk/launch"
)

// Parameter names (the published template's interface; the Launch Stack URL and the
// docs use them).
const (
	ParamSysdigRegion           = "SysdigRegion"
	ParamSysdigCustomURL        = "SysdigCustomUrl"
	ParamSysdigAwsAccountID     = "SysdigAwsAccountId"
	ParamSkipTLSVerify          = "SkipTlsVerify"
	ParamAPITokenSecret         = "ApiTokenSecret"
	ParamAPIToken               = "ApiToken"
	ParamAPITokenKmsKeyArn      = "ApiTokenKmsKeyArn"
	ParamExternalID             = "ExternalId"
	ParamRoleName               = "RoleName"
	ParamRolePath               = "RolePath"
	ParamPermissionsBoundaryArn = "PermissionsBoundaryArn"
	ParamDiscoveryRegions       = "DiscoveryRegions"
	ParamProviderAlias          = "ProviderAlias"
	ParamOnExisting             = "OnExisting"
	ParamDeregisterOnDelete     = "DeregisterOnDelete"
	ParamProviderAPI            = "ProviderApi"
	ParamCaptureBucketName      = "CaptureBucketName"
	ParamCreateCaptureBucket    = "CreateCaptureBucket"
	ParamCaptureRetentionDays   = "CaptureRetentionDays"
	ParamLogRetentionDays       = "LogRetentionDays"
	ParamCodeBucketPrefix       = launch.ParamCodeBucketPrefix     // published template only
	ParamCodeKey                = launch.ParamCodeKey              // published template only
	ParamCodeSigningConfigArn   = launch.ParamCodeSigningConfigArn // published template only
	ParamProviderAliasPrefix    = "ProviderAliasPrefix"            // Organizations templates
)

// Condition names.
const (
	CondCustomEndpoint    = "UseCustomEndpoint"
	CondCreateTokenSecret = "CreateTokenSecret"
	CondTokenSecretIsArn  = "TokenSecretIsArn"
	CondHasTokenKmsKey    = "HasTokenKmsKey"
	CondFetchExternalID   = "FetchExternalId"
	CondHasBoundary       = "HasPermissionsBoundary"
	CondCreateBucket      = "CreateCaptureBucketCondition"
	CondHasBucketName     = "HasCaptureBucketName"
	CondUseCaptureBucket  = "UseCaptureBucket"
	CondHasCodeSigning    = "HasCodeSigningConfig"
)

// Parameter values with a meaning of their own.
const (
	CustomEndpointKey      = "custom"       // SysdigRegion for on-prem
	DefaultSysdigAccountID = "273107874544" // Sysdig SaaS us1 (seed): the custom resource's fallback for us1 only
	DefaultRoleName        = "sysdig-role"
	DefaultAlias           = "role_delegation"
	DefaultAliasPrefix     = "aws-" // Organizations: alias aws-<account id>
)

// SaaSRegions maps Sysdig SaaS regions to their API base URL (design/sysdig-api.md).
var SaaSRegions = []struct{ Region, URL string }{
	{"us1", "https://app.sysdigcloud.com"},
	{"us2", "https://us2.app.sysdig.com"},
	{"us3", "https://app.us3.sysdig.com"},
	{"us4", "https://app.us4.sysdig.com"},
	{"eu1", "https://eu1.app.sysdig.com"},
	{"eu2", "https://app.eu2.sysdig.com"},
	{"au1", "https://app.au1.sysdig.com"},
	{"in1", "https://app.in1.sysdig.com"},
	{"me2", "https://app.me2.sysdig.com"},
	{"jp1", "https://app.jp1.sysdig.com"},
}

// regionRe is one AWS region code (us-east-1, us-gov-west-1) or Sysdig's form of it (US_EAST_1).
// As strict as sysdig.SysdigRegionName: the directions AWS uses, one form throughout.
const regionRe = `([a-z]{2}(-gov|-iso[a-z]?)?-(central|(north|south)(east|west)?|east|west)-[1-9][0-9]?|[A-Z]{2}(_GOV|_ISO[A-Z]?)?_(CENTRAL|(NORTH|SOUTH)(EAST|WEST)?|EAST|WEST)_[1-9][0-9]?)`

// LogRetentionValues are the values CloudWatch Logs accepts for RetentionInDays.
var LogRetentionValues = []string{"1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545", "731", "1096", "1827", "2192", "2557", "2922", "3288", "3653"}

// ConnectStackProps configures ConnectStack.
type ConnectStackProps struct {
	awscdk.StackProps
	// Publishable builds the standalone template: code from <CodeBucketPrefix>-<region>
	// and CodeKey parameters, so no asset and no bootstrap are needed.
	Publishable bool
	// AssetDir holds the bootstrap binary (cdk deploy; ignored when Publishable).
	AssetDir string
}

// ConnectStack turns the seed's "Configure Role Delegation", "Get Role ARN" and "Add the
// AWS Account" into one stack.
type ConnectStack struct {
	*templateStack
	Role          *SysdigRole
	Function      *ConnectorFunction
	ExternalID    *SysdigExternalID
	Provider      *SysdigProvider
	TokenSecret   awssecretsmanager.CfnSecret
	SecretPolicy  awssecretsmanager.CfnResourcePolicy
	CaptureBucket *CaptureBucket
	OnPrem        *OnPremAccess
	AlarmRouting  *AlarmRouting   // alarms only when AlarmEmail or AlarmTopicArn is set
	Alarms        *FunctionAlarms // the function's

	externalIDInUse   *string
	trusted           *string
	secretArnOutput   *string
	captureBucketName *string
}

// NewConnectStack builds the stack.
func NewConnectStack(scope constructs.Construct, id string, props *ConnectStackProps) (*ConnectStack, error) {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String(describe("sysdig-aws-connect: connects this AWS account to Sysdig Monitor with role delegation (IAM role, Sysdig registration)."))
	}
	if props.Publishable {
		standaloneStackProps(&sp)
	} else if props.AssetDir == "" {
		return nil, fmt.Errorf("stacks: AssetDir is required unless Publishable")
	}
	s := &ConnectStack{templateStack: newTemplateStack(awscdk.NewStack(scope, jsii.String(id), &sp))}
	s.parameters(props.Publishable)
	s.conditionsAndRules()
	s.resources(props)
	s.outputs()
	s.consoleInterface(connectParameterGroups, nil)
	suppress(s.TokenSecret, "AwsSolutions-SMG4", reasonNoRotation)
	acknowledgeValidationWarnings(s)
	return s, nil
}

// ApplyTags tags every taggable resource of the stack (and, on cdk deploy, the stack
// itself). For the published template the same comes from the stack tags given at
// launch, which CloudFormation propagates to every resource that supports tags.
func ApplyTags(stack awscdk.Stack, tags map[string]string) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		awscdk.Tags_Of(stack).Add(jsii.String(k), jsii.String(tags[k]), nil)
	}
}

func (s *ConnectStack) parameters(publishable bool) {
	s.endpointParams()
	s.tokenParams()
	s.externalIDParam(false)
	s.roleParams()
	s.onPremParams(OnPremNone, OnPremCreateUser, OnPremExistingPrincipal)
	s.param(ParamProviderAlias, &awscdk.CfnParameterProps{
		Default:               jsii.String(DefaultAlias),
		AllowedPattern:        jsii.String(`^[A-Za-z0-9_.-]{1,64}$`),
		ConstraintDescription: jsii.String("1 to 64 characters of A-Z a-z 0-9 _ . -"),
		Description:           jsii.String("Alias of the AWS account in Sysdig."),
	})
	s.registrationParams()

	s.param(ParamCaptureBucketName, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`),
		ConstraintDescription: jsii.String("an S3 bucket name"),
		Description:           jsii.String("Optional S3 bucket for Sysdig captures (adds the sysdig_s3 policy). Empty and CreateCaptureBucket false: no capture storage."),
	})
	s.param(ParamCreateCaptureBucket, trueFalse("false", "true creates the capture bucket (named CaptureBucketName, or a generated name when empty); false uses an existing bucket."))
	s.param(ParamCaptureRetentionDays, &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.Number(90),
		MinValue:    jsii.Number(1),
		MaxValue:    jsii.Number(3650),
		Description: jsii.String("Days a capture is kept in a bucket the stack creates."),
	})
	s.logRetentionParam()
	s.hardeningParams()
	s.alarmParams()
	if publishable {
		s.codeParams()
	}
}

func (s *ConnectStack) conditionsAndRules() {
	s.endpointAndTokenConditions()
	s.cond(CondFetchExternalID, empty(s.str(ParamExternalID)))
	s.trustConditions(true)
	s.askSysdigCondition()
	s.cond(CondHasBoundary, notEmpty(s.str(ParamPermissionsBoundaryArn)))
	s.cond(CondCreateBucket, awscdk.Fn_ConditionEquals(s.str(ParamCreateCaptureBucket), jsii.String("true")))
	s.cond(CondHasBucketName, notEmpty(s.str(ParamCaptureBucketName)))
	s.cond(CondUseCaptureBucket, awscdk.Fn_ConditionOr(s.Conditions[CondCreateBucket], s.Conditions[CondHasBucketName]))
	s.endpointAndTokenRules()
}

func (s *ConnectStack) resources(props *ConnectStackProps) {
	apiURL := s.sysdigAPIURL()

	// Token secret: new (from the NoEcho parameter) or existing.
	secret := s.tokenSecret()
	s.TokenSecret = secret.Secret
	s.secretArnOutput = secret.Arn

	// The function.
	s.Function = NewConnectorFunction(s.Stack, "Connector", s.connectorFunctionProps(props.Publishable, props.AssetDir, apiURL, secret, secret.ID))
	s.harden(s.Function)
	s.AlarmRouting = s.alarmRouting(false)
	s.Alarms = s.functionAlarms("Connector", s.Function.Function.FunctionName(), s.Function.DeadLetters.AttrQueueName(), s.AlarmRouting)
	// A secret this stack creates: nobody but the function reads the token.
	s.SecretPolicy = s.tokenSecretPolicy(s.TokenSecret, s.Function.Role.AttrArn(), "OnlyTheConnectorReadsTheToken")
	common := CommonProps{
		ServiceToken:     s.Function.ServiceToken(),
		SysdigApiUrl:     apiURL,
		ApiTokenSecretId: secret.ID,
		SkipTlsVerify:    s.str(ParamSkipTLSVerify),
	}

	// External ID and Sysdig's AWS account: given, or read from Sysdig.
	s.ExternalID = NewSysdigExternalID(s.Stack, "SysdigExternalId", s.externalIDProps(common))
	s.externalIDInUse = s.ifCond(CondFetchExternalID, s.ExternalID.ExternalID(), s.str(ParamExternalID))

	// Capture bucket: created, existing, or none.
	s.CaptureBucket = NewCaptureBucket(s.Stack, "Capture", &CaptureBucketProps{
		BucketName:    s.ifCond(CondHasBucketName, s.str(ParamCaptureBucketName), awscdk.Aws_NO_VALUE()),
		RetentionDays: s.Params[ParamCaptureRetentionDays].ValueAsNumber(),
		Condition:     s.Conditions[CondCreateBucket],
	})
	s.captureBucketName = s.ifCond(CondCreateBucket, s.CaptureBucket.Bucket.BucketName(), s.str(ParamCaptureBucketName))

	// On-prem: the user, its key and secret (CreateUser) and the AssumeRole policy; the
	// policy names the role, so it is made after the role.
	boundary := s.ifCond(CondHasBoundary, s.str(ParamPermissionsBoundaryArn), awscdk.Aws_NO_VALUE())
	s.OnPrem = s.onPremUser(onPremUserProps{
		Path:     s.str(ParamRolePath),
		Boundary: boundary,
		KmsKey:   s.ifCond(CondHasTokenKmsKey, s.str(ParamAPITokenKmsKeyArn), awscdk.Aws_NO_VALUE()),
	})

	// Configure Role Delegation.
	s.trusted = s.ifCond(CondOnPrem, s.OnPrem.PrincipalArn, rootArn(s.sysdigAccountInUse(s.ExternalID)))
	s.Role = NewSysdigRole(s.Stack, "Sysdig", &SysdigRoleProps{
		TrustedPrincipalArn:    s.trusted,
		ExternalID:             s.externalIDInUse,
		RoleName:               s.str(ParamRoleName),
		Path:                   s.str(ParamRolePath),
		PermissionsBoundaryArn: boundary,
		CaptureBucketName:      s.captureBucketName,
		CaptureBucketCondition: s.Conditions[CondUseCaptureBucket],
	})
	s.onPremPolicy(s.OnPrem, s.Role.Role.RoleArn(), nil)

	// Get Role ARN + Add the AWS Account.
	s.Provider = NewSysdigProvider(s.Stack, "SysdigProvider", s.providerProps(common, s.Role, s.str(ParamProviderAlias)))
	s.Provider.Resource.Node().AddDependency(s.OnPrem.Ready)

	s.stableLogicalIDs()
}

// stableLogicalIDs gives the main resources readable logical ids (the published
// template is reviewed by people, and a logical id that changes replaces the resource).
func (s *ConnectStack) stableLogicalIDs() {
	set := setLogicalID
	set(s.Role.Role, "SysdigRole")
	set(s.Role.CloudWatchPolicy, "SysdigCloudWatchPolicy")
	set(s.Role.S3Policy, "SysdigS3Policy")
	s.Role.PoliciesReady.OverrideLogicalId(jsii.String("SysdigPoliciesReady"))
	set(s.Function.Function, "ConnectorFunction")
	set(s.Function.LogGroup, "ConnectorLogGroup")
	s.Function.Role.OverrideLogicalId(jsii.String("ConnectorRole"))
	set(s.Function.AsyncInvoke, "ConnectorAsyncInvokeConfig")
	s.Function.DeadLetters.OverrideLogicalId(jsii.String("ConnectorDeadLetterQueue"))
	set(s.ExternalID.Resource, "SysdigExternalId")
	set(s.Provider.Resource, "SysdigProvider")
	set(s.CaptureBucket.Bucket, "CaptureBucket")
	set(s.CaptureBucket.Bucket.Policy(), "CaptureBucketPolicy")
}

// setLogicalID gives the CloudFormation resource of an L2 construct a readable logical id.
func setLogicalID(c constructs.IConstruct, id string) {
	c.Node().DefaultChild().(awscdk.CfnResource).OverrideLogicalId(jsii.String(id))
}
