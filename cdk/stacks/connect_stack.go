package stacks

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
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
	ParamCodeBucketPrefix       = launch.ParamCodeBucketPrefix // published template only
	ParamCodeKey                = launch.ParamCodeKey          // published template only
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
)

// Parameter values with a meaning of their own.
const (
	CustomEndpointKey      = "custom"       // SysdigRegion for on-prem
	DefaultSysdigAccountID = "273107874544" // Sysdig SaaS us1 (seed)
	DefaultRoleName        = "sysdig-role"
	DefaultAlias           = "role_delegation"
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
const regionRe = `([a-z]{2}(-[a-z]+)+-[0-9]+|[A-Z]{2}(_[A-Z]+)+_[0-9]+)`

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
	awscdk.Stack
	Params        map[string]awscdk.CfnParameter
	Conditions    map[string]awscdk.CfnCondition
	Role          *SysdigRole
	Function      *ConnectorFunction
	ExternalID    *SysdigExternalID
	Provider      *SysdigProvider
	TokenSecret   awssecretsmanager.CfnSecret
	CaptureBucket *CaptureBucket

	externalIDInUse   *string
	secretArnOutput   *string
	captureBucketName *string
}

// NewConnectStack builds the stack.
func NewConnectStack(scope constructs.Construct, id string, props *ConnectStackProps) (*ConnectStack, error) {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("sysdig-aws-connect: connects this AWS account to Sysdig Monitor with role delegation (IAM role, Sysdig registration).")
	}
	if props.Publishable {
		// Standalone: no bootstrap version parameter or rule, no CDKMetadata.
		sp.Synthesizer = awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{
			GenerateBootstrapVersionRule: jsii.Bool(false),
		})
		sp.AnalyticsReporting = jsii.Bool(false)
	} else if props.AssetDir == "" {
		return nil, fmt.Errorf("stacks: AssetDir is required unless Publishable")
	}
	s := &ConnectStack{
		Stack:      awscdk.NewStack(scope, jsii.String(id), &sp),
		Params:     map[string]awscdk.CfnParameter{},
		Conditions: map[string]awscdk.CfnCondition{},
	}
	s.Stack.TemplateOptions().SetTemplateFormatVersion(jsii.String("2010-09-09"))
	s.parameters(props.Publishable)
	s.conditionsAndRules()
	s.resources(props)
	s.outputs()
	s.consoleInterface()
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

func (s *ConnectStack) param(name string, p *awscdk.CfnParameterProps) {
	if p.Type == nil {
		p.Type = jsii.String("String")
	}
	s.Params[name] = awscdk.NewCfnParameter(s.Stack, jsii.String(name), p)
}

func (s *ConnectStack) str(name string) *string { return s.Params[name].ValueAsString() }

func trueFalse(def, desc string) *awscdk.CfnParameterProps {
	return &awscdk.CfnParameterProps{Default: jsii.String(def), AllowedValues: jsii.Strings("true", "false"), Description: jsii.String(desc)}
}

func (s *ConnectStack) parameters(publishable bool) {
	regions := []string{}
	for _, r := range SaaSRegions {
		regions = append(regions, r.Region)
	}
	regions = append(regions, CustomEndpointKey)
	s.param(ParamSysdigRegion, &awscdk.CfnParameterProps{
		Default:       jsii.String("us1"),
		AllowedValues: jsii.Strings(regions...),
		Description:   jsii.String("Sysdig SaaS region of your Sysdig Monitor tenant, or custom for on-prem (then set SysdigCustomUrl)."),
	})
	s.param(ParamSysdigCustomURL, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$`),
		ConstraintDescription: jsii.String("an http(s) URL such as https://sysdig.example.com"),
		Description:           jsii.String("On-prem only: the Sysdig API base URL (SysdigRegion must be custom). Leave empty for SaaS."),
	})
	s.param(ParamSysdigAwsAccountID, &awscdk.CfnParameterProps{
		Default:               jsii.String(DefaultSysdigAccountID),
		AllowedPattern:        jsii.String(`^[0-9]{12}$`),
		ConstraintDescription: jsii.String("a 12-digit AWS account id"),
		Description:           jsii.String("AWS account Sysdig assumes the role from: 273107874544 for SaaS us1 (see Sysdig's list for other regions); on-prem: your own account."),
	})
	s.param(ParamSkipTLSVerify, trueFalse("false", "true skips TLS certificate verification of the Sysdig API (on-prem with a self-signed certificate only)."))

	s.param(ParamAPITokenSecret, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$|^[A-Za-z0-9/_+=.@-]{1,512}$`),
		ConstraintDescription: jsii.String("a Secrets Manager secret name or ARN"),
		Description:           jsii.String("Existing Secrets Manager secret (name or ARN) whose SecretString is the Sysdig Monitor API token of an administrator. Set this or ApiToken, not both."),
	})
	s.param(ParamAPIToken, &awscdk.CfnParameterProps{
		Default:     jsii.String(""),
		NoEcho:      jsii.Bool(true),
		MaxLength:   jsii.Number(1024),
		Description: jsii.String("The Sysdig Monitor API token itself; the stack stores it in a new Secrets Manager secret. Set this or ApiTokenSecret, not both."),
	})
	s.param(ParamAPITokenKmsKeyArn, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`),
		ConstraintDescription: jsii.String("a KMS key ARN"),
		Description:           jsii.String("Optional customer-managed KMS key ARN that encrypts the token secret (the new secret is encrypted with it; the function may decrypt with it). Empty: the aws/secretsmanager key."),
	})

	s.param(ParamExternalID, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^[A-Za-z0-9+=,.@:/_-]{2,}$`),
		MaxLength:             jsii.Number(1224),
		ConstraintDescription: jsii.String("2 to 1224 characters of A-Z a-z 0-9 + = , . @ : / _ -"),
		Description:           jsii.String("Optional Sysdig external ID. Empty: the stack reads it from Sysdig (GET /api/users/me)."),
	})
	s.param(ParamRoleName, &awscdk.CfnParameterProps{
		Default:               jsii.String(DefaultRoleName),
		AllowedPattern:        jsii.String(`^[A-Za-z0-9+=,.@_-]{1,64}$`),
		ConstraintDescription: jsii.String("1 to 64 characters of A-Z a-z 0-9 + = , . @ _ -"),
		Description:           jsii.String("Name of the IAM role Sysdig assumes (IAM names are global in the account: one stack per account)."),
	})
	s.param(ParamRolePath, &awscdk.CfnParameterProps{
		Default:               jsii.String("/"),
		AllowedPattern:        jsii.String(`^/([A-Za-z0-9+=,.@_-]+/)*$`),
		ConstraintDescription: jsii.String("/ or a path such as /sysdig/"),
		Description:           jsii.String("IAM path of the role."),
	})
	s.param(ParamPermissionsBoundaryArn, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$`),
		ConstraintDescription: jsii.String("an IAM managed policy ARN"),
		Description:           jsii.String("Optional permissions boundary (managed policy ARN) for the Sysdig role."),
	})

	s.param(ParamDiscoveryRegions, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^ *` + regionRe + ` *( *, *` + regionRe + ` *)*$`),
		ConstraintDescription: jsii.String("comma-separated AWS region codes such as us-east-1,eu-west-1 (or Sysdig's US_EAST_1 form)"),
		Description:           jsii.String("Regions Sysdig discovers resources in, comma-separated (us-east-1,us-east-2). Empty: all regions."),
	})
	s.param(ParamProviderAlias, &awscdk.CfnParameterProps{
		Default:               jsii.String(DefaultAlias),
		AllowedPattern:        jsii.String(`^[A-Za-z0-9_.-]{1,64}$`),
		ConstraintDescription: jsii.String("1 to 64 characters of A-Z a-z 0-9 _ . -"),
		Description:           jsii.String("Alias of the AWS account in Sysdig."),
	})
	s.param(ParamOnExisting, &awscdk.CfnParameterProps{
		Default:       jsii.String("Fail"),
		AllowedValues: jsii.Strings("Fail", "Adopt"),
		Description:   jsii.String("When Sysdig already has this role registered: Fail (safe default) or Adopt the existing registration."),
	})
	s.param(ParamDeregisterOnDelete, trueFalse("true", "true removes the Sysdig registration when the stack is deleted (only one this stack created or adopted)."))
	s.param(ParamProviderAPI, &awscdk.CfnParameterProps{
		Default:       jsii.String("v1"),
		AllowedValues: jsii.Strings("v1", "v2"),
		Description:   jsii.String("Sysdig providers API: v1 (/api/providers, the seed's) or v2 (/api/v2/providers)."),
	})

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
	s.param(ParamLogRetentionDays, &awscdk.CfnParameterProps{
		Type:          jsii.String("Number"),
		Default:       jsii.Number(30),
		AllowedValues: jsii.Strings(LogRetentionValues...),
		Description:   jsii.String("Days the connector function's log events are kept."),
	})
	if publishable {
		s.param(ParamCodeBucketPrefix, &awscdk.CfnParameterProps{
			Default:               jsii.String(launch.DefaultCodeBucketPrefix),
			AllowedPattern:        jsii.String(`^[a-z0-9][a-z0-9.-]{1,40}[a-z0-9]$`),
			ConstraintDescription: jsii.String("an S3 bucket name prefix"),
			Description:           jsii.String("The function's code is read from the bucket <CodeBucketPrefix>-<region>."),
		})
		s.param(ParamCodeKey, &awscdk.CfnParameterProps{
			Default:               jsii.String(launch.DefaultCodeKey),
			AllowedPattern:        jsii.String(`^[A-Za-z0-9!_.*'()/-]+\.zip$`),
			ConstraintDescription: jsii.String("an S3 key ending in .zip"),
			Description:           jsii.String("S3 key of the function's zip in that bucket."),
		})
	}
}

func (s *ConnectStack) cond(name string, expr awscdk.ICfnConditionExpression) {
	s.Conditions[name] = awscdk.NewCfnCondition(s.Stack, jsii.String(name), &awscdk.CfnConditionProps{Expression: expr})
}

func empty(v *string) awscdk.ICfnConditionExpression {
	return awscdk.Fn_ConditionEquals(v, jsii.String(""))
}

func notEmpty(v *string) awscdk.ICfnConditionExpression { return awscdk.Fn_ConditionNot(empty(v)) }

func (s *ConnectStack) conditionsAndRules() {
	s.cond(CondCustomEndpoint, awscdk.Fn_ConditionEquals(s.str(ParamSysdigRegion), jsii.String(CustomEndpointKey)))
	s.cond(CondCreateTokenSecret, notEmpty(s.str(ParamAPIToken)))
	s.cond(CondTokenSecretIsArn, awscdk.Fn_ConditionEquals(
		awscdk.Fn_Select(jsii.Number(0), awscdk.Fn_Split(jsii.String(":"), s.str(ParamAPITokenSecret), nil)),
		jsii.String("arn")))
	s.cond(CondHasTokenKmsKey, notEmpty(s.str(ParamAPITokenKmsKeyArn)))
	s.cond(CondFetchExternalID, empty(s.str(ParamExternalID)))
	s.cond(CondHasBoundary, notEmpty(s.str(ParamPermissionsBoundaryArn)))
	s.cond(CondCreateBucket, awscdk.Fn_ConditionEquals(s.str(ParamCreateCaptureBucket), jsii.String("true")))
	s.cond(CondHasBucketName, notEmpty(s.str(ParamCaptureBucketName)))
	s.cond(CondUseCaptureBucket, awscdk.Fn_ConditionOr(s.Conditions[CondCreateBucket], s.Conditions[CondHasBucketName]))

	awscdk.NewCfnRule(s.Stack, jsii.String("ExactlyOneTokenSource"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert: awscdk.Fn_ConditionOr(
				awscdk.Fn_ConditionAnd(empty(s.str(ParamAPITokenSecret)), notEmpty(s.str(ParamAPIToken))),
				awscdk.Fn_ConditionAnd(notEmpty(s.str(ParamAPITokenSecret)), empty(s.str(ParamAPIToken))),
			),
			AssertDescription: jsii.String("Set exactly one of ApiTokenSecret (an existing secret) and ApiToken (stored in a new secret)."),
		}},
	})
	isCustom := awscdk.Fn_ConditionEquals(s.str(ParamSysdigRegion), jsii.String(CustomEndpointKey))
	awscdk.NewCfnRule(s.Stack, jsii.String("CustomUrlOnlyForCustomRegion"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert: awscdk.Fn_ConditionOr(
				awscdk.Fn_ConditionAnd(isCustom, notEmpty(s.str(ParamSysdigCustomURL))),
				awscdk.Fn_ConditionAnd(awscdk.Fn_ConditionNot(isCustom), empty(s.str(ParamSysdigCustomURL))),
			),
			AssertDescription: jsii.String("SysdigCustomUrl is required when SysdigRegion is custom and must be empty otherwise."),
		}},
	})
}

func (s *ConnectStack) ifCond(cond string, yes, no interface{}) *string {
	return awscdk.Token_AsString(awscdk.Fn_ConditionIf(jsii.String(cond), yes, no), nil)
}

func (s *ConnectStack) resources(props *ConnectStackProps) {
	// Sysdig endpoint.
	mapping := map[string]*map[string]interface{}{}
	for _, r := range SaaSRegions {
		mapping[r.Region] = &map[string]interface{}{"ApiUrl": r.URL}
	}
	// FindInMap fails on a missing key even in the branch of an Fn::If that is not
	// taken, so custom has a row; its value is never used.
	mapping[CustomEndpointKey] = &map[string]interface{}{"ApiUrl": "see-SysdigCustomUrl"}
	m := awscdk.NewCfnMapping(s.Stack, jsii.String("SysdigRegionMap"), &awscdk.CfnMappingProps{Mapping: &mapping})
	apiURL := s.ifCond(CondCustomEndpoint, s.str(ParamSysdigCustomURL),
		m.FindInMap(s.str(ParamSysdigRegion), jsii.String("ApiUrl"), nil))

	// Token secret: new (from the NoEcho parameter) or existing.
	s.TokenSecret = awssecretsmanager.NewCfnSecret(s.Stack, jsii.String("ApiTokenSecretResource"), &awssecretsmanager.CfnSecretProps{
		Description:  jsii.String("Sysdig Monitor API token (sysdig-aws-connect)."),
		SecretString: s.str(ParamAPIToken),
		KmsKeyId:     s.ifCond(CondHasTokenKmsKey, s.str(ParamAPITokenKmsKeyArn), awscdk.Aws_NO_VALUE()),
	})
	s.TokenSecret.CfnOptions().SetCondition(s.Conditions[CondCreateTokenSecret])
	s.TokenSecret.OverrideLogicalId(jsii.String("ApiTokenSecretResource"))
	secretID := s.ifCond(CondCreateTokenSecret, s.TokenSecret.Ref(), s.str(ParamAPITokenSecret))
	// What GetSecretValue may read: the new secret; or the given ARN (full, or partial
	// without the 6-character suffix); or, for a name, that name in this account and region.
	nameArn := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":secretsmanager:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":secret:"), s.str(ParamAPITokenSecret),
	})
	suffixed := func(v *string) *string {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{v, jsii.String("-??????")})
	}
	secretResources := awscdk.Fn_ConditionIf(jsii.String(CondCreateTokenSecret),
		[]interface{}{s.TokenSecret.Ref()},
		awscdk.Fn_ConditionIf(jsii.String(CondTokenSecretIsArn),
			[]interface{}{s.str(ParamAPITokenSecret), suffixed(s.str(ParamAPITokenSecret))},
			[]interface{}{suffixed(nameArn)}))
	s.secretArnOutput = s.ifCond(CondCreateTokenSecret, s.TokenSecret.Ref(),
		awscdk.Fn_ConditionIf(jsii.String(CondTokenSecretIsArn), s.str(ParamAPITokenSecret), nameArn))

	// The function.
	var code awslambda.Code
	if props.Publishable {
		bucket := awss3.Bucket_FromBucketName(s.Stack, jsii.String("CodeBucket"), awscdk.Fn_Join(jsii.String("-"),
			&[]*string{s.str(ParamCodeBucketPrefix), awscdk.Aws_REGION()}))
		code = awslambda.Code_FromBucket(bucket, s.str(ParamCodeKey), nil)
	} else {
		code = awslambda.Code_FromAsset(jsii.String(props.AssetDir), nil)
	}
	s.Function = NewConnectorFunction(s.Stack, "Connector", &ConnectorFunctionProps{
		Code:                 code,
		TokenSecretResources: secretResources,
		TokenKmsKeyArn:       s.str(ParamAPITokenKmsKeyArn),
		TokenKmsKeyCondition: s.Conditions[CondHasTokenKmsKey],
		LogRetentionDays:     s.Params[ParamLogRetentionDays].ValueAsNumber(),
	})
	common := CommonProps{
		ServiceToken:     s.Function.ServiceToken(),
		SysdigApiUrl:     apiURL,
		ApiTokenSecretId: secretID,
		SkipTlsVerify:    s.str(ParamSkipTLSVerify),
	}

	// External ID: given, or fetched from Sysdig.
	ext := common
	ext.Condition = s.Conditions[CondFetchExternalID]
	s.ExternalID = NewSysdigExternalID(s.Stack, "SysdigExternalId", &ext)
	s.externalIDInUse = s.ifCond(CondFetchExternalID, s.ExternalID.ExternalID(), s.str(ParamExternalID))

	// Capture bucket: created, existing, or none.
	s.CaptureBucket = NewCaptureBucket(s.Stack, "Capture", &CaptureBucketProps{
		BucketName:    s.ifCond(CondHasBucketName, s.str(ParamCaptureBucketName), awscdk.Aws_NO_VALUE()),
		RetentionDays: s.Params[ParamCaptureRetentionDays].ValueAsNumber(),
		Condition:     s.Conditions[CondCreateBucket],
	})
	s.captureBucketName = s.ifCond(CondCreateBucket, s.CaptureBucket.Bucket.BucketName(), s.str(ParamCaptureBucketName))

	// Configure Role Delegation.
	s.Role = NewSysdigRole(s.Stack, "Sysdig", &SysdigRoleProps{
		SysdigAccountID:        s.str(ParamSysdigAwsAccountID),
		ExternalID:             s.externalIDInUse,
		RoleName:               s.str(ParamRoleName),
		Path:                   s.str(ParamRolePath),
		PermissionsBoundaryArn: s.ifCond(CondHasBoundary, s.str(ParamPermissionsBoundaryArn), awscdk.Aws_NO_VALUE()),
		CaptureBucketName:      s.captureBucketName,
		CaptureBucketCondition: s.Conditions[CondUseCaptureBucket],
	})

	// Get Role ARN + Add the AWS Account.
	s.Provider = NewSysdigProvider(s.Stack, "SysdigProvider", &SysdigProviderProps{
		CommonProps:        common,
		RoleArn:            s.Role.Role.RoleArn(),
		Alias:              s.str(ParamProviderAlias),
		Regions:            s.str(ParamDiscoveryRegions),
		OnExisting:         s.str(ParamOnExisting),
		DeregisterOnDelete: s.str(ParamDeregisterOnDelete),
		ProviderApi:        s.str(ParamProviderAPI),
		DependsOn:          s.Role.Dependables(),
	})

	s.stableLogicalIDs()
}

// stableLogicalIDs gives the main resources readable logical ids (the published
// template is reviewed by people, and a logical id that changes replaces the resource).
func (s *ConnectStack) stableLogicalIDs() {
	set := func(c constructs.IConstruct, id string) {
		c.Node().DefaultChild().(awscdk.CfnResource).OverrideLogicalId(jsii.String(id))
	}
	set(s.Role.Role, "SysdigRole")
	set(s.Role.CloudWatchPolicy, "SysdigCloudWatchPolicy")
	set(s.Role.S3Policy, "SysdigS3Policy")
	s.Role.PoliciesReady.OverrideLogicalId(jsii.String("SysdigPoliciesReady"))
	set(s.Function.Function, "ConnectorFunction")
	set(s.Function.LogGroup, "ConnectorLogGroup")
	s.Function.Role.OverrideLogicalId(jsii.String("ConnectorRole"))
	set(s.Function.AsyncInvoke, "ConnectorAsyncInvokeConfig")
	set(s.ExternalID.Resource, "SysdigExternalId")
	set(s.Provider.Resource, "SysdigProvider")
	set(s.CaptureBucket.Bucket, "CaptureBucket")
	set(s.CaptureBucket.Bucket.Policy(), "CaptureBucketPolicy")
}
