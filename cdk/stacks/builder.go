package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/cdk/launch"
	"sysdig-aws-connect/internal/version"
)

// templateStack is what the three templates (single account, Organizations deployer,
// StackSet member) share: parameters and conditions by name, the console interface and
// the parameter definitions and resources more than one of them uses.
type templateStack struct {
	awscdk.Stack
	Params     map[string]awscdk.CfnParameter
	Conditions map[string]awscdk.CfnCondition
}

// parameterGroup is one console group of parameters (AWS::CloudFormation::Interface).
type parameterGroup struct {
	Label  string
	Params []string
}

// VersionMetadataKey is the template metadata that names the release (internal/version).
const VersionMetadataKey = "SysdigAwsConnectVersion"

// describe puts the release version into a template description that starts with the
// project's name: "sysdig-aws-connect 0.2.0: …".
func describe(text string) string {
	return strings.Replace(text, "sysdig-aws-connect", "sysdig-aws-connect "+version.Version(), 1)
}

// newTemplateStack creates the stack. Publishable stacks carry nothing CDK-specific: no
// bootstrap version parameter or rule, no CDKMetadata.
func newTemplateStack(stack awscdk.Stack) *templateStack {
	stack.TemplateOptions().SetTemplateFormatVersion(jsii.String("2010-09-09"))
	return &templateStack{Stack: stack, Params: map[string]awscdk.CfnParameter{}, Conditions: map[string]awscdk.CfnCondition{}}
}

// standaloneStackProps turns sp into the props of a stack that needs no bootstrap.
func standaloneStackProps(sp *awscdk.StackProps) {
	sp.Synthesizer = awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{
		GenerateBootstrapVersionRule: jsii.Bool(false),
	})
	sp.AnalyticsReporting = jsii.Bool(false)
}

func (s *templateStack) param(name string, p *awscdk.CfnParameterProps) {
	if p.Type == nil {
		p.Type = jsii.String("String")
	}
	s.Params[name] = awscdk.NewCfnParameter(s.Stack, jsii.String(name), p)
}

func (s *templateStack) str(name string) *string { return s.Params[name].ValueAsString() }

func (s *templateStack) cond(name string, expr awscdk.ICfnConditionExpression) {
	s.Conditions[name] = awscdk.NewCfnCondition(s.Stack, jsii.String(name), &awscdk.CfnConditionProps{Expression: expr})
}

func (s *templateStack) ifCond(cond string, yes, no interface{}) *string {
	return awscdk.Token_AsString(awscdk.Fn_ConditionIf(jsii.String(cond), yes, no), nil)
}

func (s *templateStack) rule(name, desc string, assert awscdk.ICfnConditionExpression) {
	awscdk.NewCfnRule(s.Stack, jsii.String(name), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{Assert: assert, AssertDescription: jsii.String(desc)}},
	})
}

func (s *templateStack) output(name, desc string, value *string, cond awscdk.CfnCondition) {
	awscdk.NewCfnOutput(s.Stack, jsii.String(name), &awscdk.CfnOutputProps{
		Description: jsii.String(desc),
		Value:       value,
		Condition:   cond,
	})
}

// consoleInterface writes the parameter groups and labels the CloudFormation console
// shows; EncodeTemplate orders the parameters by the same groups.
// Labels come from parameterLabels unless overridden.
func (s *templateStack) consoleInterface(groups []parameterGroup, overrides map[string]string) {
	out := []interface{}{}
	labels := map[string]interface{}{}
	for _, g := range groups {
		names := []string{}
		for _, p := range g.Params {
			if _, ok := s.Params[p]; ok {
				names = append(names, p)
				label, ok := overrides[p]
				if !ok {
					label = parameterLabels[p]
				}
				labels[p] = map[string]string{"default": label}
			}
		}
		out = append(out, map[string]interface{}{
			"Label":      map[string]string{"default": g.Label},
			"Parameters": names,
		})
	}
	s.Stack.TemplateOptions().SetMetadata(&map[string]interface{}{
		VersionMetadataKey: version.Version(),
		interfaceMetadataKey: map[string]interface{}{
			"ParameterGroups": out,
			"ParameterLabels": labels,
		},
	})
}

func trueFalse(def, desc string) *awscdk.CfnParameterProps {
	return &awscdk.CfnParameterProps{Default: jsii.String(def), AllowedValues: jsii.Strings("true", "false"), Description: jsii.String(desc)}
}

func empty(v *string) awscdk.ICfnConditionExpression {
	return awscdk.Fn_ConditionEquals(v, jsii.String(""))
}

func notEmpty(v *string) awscdk.ICfnConditionExpression { return awscdk.Fn_ConditionNot(empty(v)) }

// Shared parameter definitions. -------------------------------------------------------

// endpointParams: SysdigRegion, SysdigCustomUrl, SysdigAwsAccountId, SkipTlsVerify.
func (s *templateStack) endpointParams() {
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
		AllowedPattern:        jsii.String(`^$|` + apiURLPattern),
		MaxLength:             jsii.Number(maxAPIURLLength),
		ConstraintDescription: jsii.String(apiURLConstraint),
		Description:           jsii.String("On-prem only: the Sysdig API base URL, https:// (SysdigRegion must be custom). Leave empty for SaaS."),
	})
	s.sysdigAccountParam()
	s.skipTLSParam()
}

// apiURLPattern is one Sysdig API base URL as the function accepts it
// (sysdig.ValidateBaseURL): https, a port from 1 to 65535, no credentials, query or
// fragment; plain http only on a loopback host, which only local runs use. The function
// also refuses ',' and '|' and URLs longer than maxAPIURLLength (registrar).
const apiURLPattern = `^(https://[A-Za-z0-9.-]+|http://(localhost|127\.[0-9.]+))(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(/[^\s,|?#]*)?$`

// apiTokenPattern is what tokensource.ParseSecret accepts: printable ASCII without spaces,
// or a JSON object ({"token":"…"}).
const apiTokenPattern = `^ *([!-z|-~][!-~]*|\{.*\})? *$`

// regionsPattern is at most 64 regions (the function's limit), comma-separated.
const regionsPattern = `^( *` + regionRe + ` *(,|$)){0,64}$`

const (
	maxAPIURLLength  = 240
	apiURLConstraint = "an https:// URL (no query), at most 240 characters"
)

func (s *templateStack) sysdigAccountParam() {
	s.param(ParamSysdigAwsAccountID, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^[0-9]{12}$`),
		ConstraintDescription: jsii.String("empty, or a 12-digit AWS account id"),
		Description:           jsii.String("Empty (recommended): the AWS account Sysdig reports for your tenant (us1 without a report: 273107874544). A value given must match Sysdig's, or the stack fails before the role exists. Not used on-prem (OnPremCredentials)."),
	})
}

func (s *templateStack) skipTLSParam() {
	s.param(ParamSkipTLSVerify, trueFalse("false", "true skips TLS certificate verification of the Sysdig API (on-prem with a self-signed certificate only)."))
}

// tokenParams: ApiTokenSecret, ApiToken, ApiTokenKmsKeyArn.
func (s *templateStack) tokenParams() {
	s.param(ParamAPITokenSecret, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|` + secretArnPattern + `|^[A-Za-z0-9/_+=.@-]{1,512}$`),
		ConstraintDescription: jsii.String("a Secrets Manager secret name or ARN"),
		Description:           jsii.String("Existing Secrets Manager secret (name or ARN) whose SecretString is the Sysdig Monitor API token of an administrator. Set this or ApiToken, not both."),
	})
	s.param(ParamAPIToken, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		NoEcho:                jsii.Bool(true),
		MaxLength:             jsii.Number(1024),
		AllowedPattern:        jsii.String(apiTokenPattern),
		ConstraintDescription: jsii.String("the token, without spaces"),
		Description:           jsii.String("The Sysdig Monitor API token itself; the stack stores it in a new Secrets Manager secret. Set this or ApiTokenSecret, not both."),
	})
	s.param(ParamAPITokenKmsKeyArn, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`),
		ConstraintDescription: jsii.String("a KMS key ARN"),
		Description:           jsii.String("Optional customer-managed KMS key ARN that encrypts the token secret (the new secret is encrypted with it; the function may decrypt with it). Empty: the aws/secretsmanager key."),
	})
}

// secretArnPattern is one Secrets Manager secret ARN (full, or partial without the suffix).
const secretArnPattern = `^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$`

// externalIDParam: ExternalId; optional (read from Sysdig when empty) unless required.
func (s *templateStack) externalIDParam(required bool) {
	p := &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|` + externalIDPattern),
		MaxLength:             jsii.Number(1224),
		ConstraintDescription: jsii.String("2 to 1224 characters of A-Z a-z 0-9 + = , . @ : / _ -"),
		Description:           jsii.String("Optional Sysdig external ID. Empty: the stack reads your tenant's from Sysdig."),
	}
	if required {
		p.Default = nil
		p.AllowedPattern = jsii.String(externalIDPattern)
		p.Description = jsii.String("Sysdig external ID (the deployer stack passes it).")
	}
	s.param(ParamExternalID, p)
}

const externalIDPattern = `^[A-Za-z0-9+=,.@:/_-]{2,}$`

// roleParams: RoleName, RolePath, PermissionsBoundaryArn.
func (s *templateStack) roleParams() {
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
}

// registrationParams: DiscoveryRegions, OnExisting, DeregisterOnDelete, ProviderApi (the
// alias differs: one alias for one account, a prefix for an organization).
func (s *templateStack) registrationParams() {
	s.param(ParamDiscoveryRegions, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(regionsPattern),
		ConstraintDescription: jsii.String("up to 64 region codes such as us-east-1,eu-west-1 (or US_EAST_1)"),
		Description:           jsii.String("Regions Sysdig discovers resources in, comma-separated (us-east-1,us-east-2). Empty: all regions."),
	})
	s.param(ParamOnExisting, &awscdk.CfnParameterProps{
		Default:       jsii.String("Fail"),
		AllowedValues: jsii.Strings("Fail", "Adopt"),
		Description:   jsii.String("When Sysdig already has this role registered: Fail (safe default) or Adopt the existing registration."),
	})
	s.param(ParamDeregisterOnDelete, trueFalse("true", "true removes the Sysdig registration this stack created when the stack is deleted (an adopted one is always kept)."))
	s.param(ParamProviderAPI, &awscdk.CfnParameterProps{
		Default:       jsii.String("v1"),
		AllowedValues: jsii.Strings("v1", "v2"),
		Description:   jsii.String("Sysdig providers API: v1 (/api/providers, in Sysdig's guide) or v2 (/api/v2/providers)."),
	})
	s.v2RolePathRule()
}

// aliasPrefixParam: ProviderAliasPrefix (organizations: the alias is the prefix and the
// account id, so every account has its own).
func (s *templateStack) aliasPrefixParam() {
	s.param(ParamProviderAliasPrefix, &awscdk.CfnParameterProps{
		Default:               jsii.String(DefaultAliasPrefix),
		AllowedPattern:        jsii.String(`^[A-Za-z0-9_.-]{0,64}$`),
		ConstraintDescription: jsii.String("0 to 64 characters of A-Z a-z 0-9 _ . -"),
		Description:           jsii.String("Each account's alias in Sysdig is this prefix followed by its account id."),
	})
}

// aliasFromPrefix is <ProviderAliasPrefix><AWS::AccountId>.
func (s *templateStack) aliasFromPrefix() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{s.str(ParamProviderAliasPrefix), awscdk.Aws_ACCOUNT_ID()})
}

func (s *templateStack) logRetentionParam() {
	s.param(ParamLogRetentionDays, &awscdk.CfnParameterProps{
		Type:          jsii.String("Number"),
		Default:       jsii.Number(30),
		AllowedValues: jsii.Strings(LogRetentionValues...),
		Description:   jsii.String("Days the connector function's log events are kept."),
	})
}

// codeParams: CodeBucketPrefix, CodeKey, CodeSigningConfigArn (publishable templates
// with a function), their condition and rule. Whoever owns the code buckets chooses the
// code that reads the Sysdig token, so the prefix has no default.
func (s *templateStack) codeParams() {
	s.param(ParamCodeBucketPrefix, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^[a-z0-9][a-z0-9.-]{1,40}[a-z0-9]$`),
		ConstraintDescription: jsii.String("an S3 bucket name prefix"),
		Description:           jsii.String("Required: the function's zip is read from the bucket <CodeBucketPrefix>-<region>, owned by you or a publisher you trust."),
	})
	s.param(ParamCodeKey, &awscdk.CfnParameterProps{
		Default:               jsii.String(launch.DefaultCodeKey),
		AllowedPattern:        jsii.String(`^[A-Za-z0-9!_.*'()/-]+\.zip$`),
		ConstraintDescription: jsii.String("an S3 key ending in .zip"),
		Description:           jsii.String("S3 key of the function's zip in that bucket."),
	})
	s.param(ParamCodeSigningConfigArn, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:csc-[a-z0-9]{17}$`),
		ConstraintDescription: jsii.String("a Lambda code signing configuration ARN"),
		Description:           jsii.String("Optional: Lambda then runs only a zip signed by this configuration's signing profiles."),
	})
	s.cond(CondHasCodeSigning, notEmpty(s.str(ParamCodeSigningConfigArn)))
	s.rule("CodeBucketPrefixRequired", "Set CodeBucketPrefix: your (or a trusted publisher's) buckets <prefix>-<region> holding the zip; make publish's Launch Stack URL fills it in.",
		notEmpty(s.str(ParamCodeBucketPrefix)))
}

// Shared conditions, rules and resources. -----------------------------------------------

// endpointAndTokenConditions are the conditions and rules of endpointParams and tokenParams.
func (s *templateStack) endpointAndTokenConditions() {
	s.cond(CondCustomEndpoint, awscdk.Fn_ConditionEquals(s.str(ParamSysdigRegion), jsii.String(CustomEndpointKey)))
	s.cond(CondCreateTokenSecret, notEmpty(s.str(ParamAPIToken)))
	s.cond(CondTokenSecretIsArn, awscdk.Fn_ConditionEquals(
		awscdk.Fn_Select(jsii.Number(0), awscdk.Fn_Split(jsii.String(":"), s.str(ParamAPITokenSecret), nil)),
		jsii.String("arn")))
	s.cond(CondHasTokenKmsKey, notEmpty(s.str(ParamAPITokenKmsKeyArn)))
}

func (s *templateStack) endpointAndTokenRules() {
	s.rule("ExactlyOneTokenSource", "Set exactly one of ApiTokenSecret (an existing secret) and ApiToken (stored in a new secret).",
		awscdk.Fn_ConditionOr(
			awscdk.Fn_ConditionAnd(empty(s.str(ParamAPITokenSecret)), notEmpty(s.str(ParamAPIToken))),
			awscdk.Fn_ConditionAnd(notEmpty(s.str(ParamAPITokenSecret)), empty(s.str(ParamAPIToken))),
		))
	isCustom := awscdk.Fn_ConditionEquals(s.str(ParamSysdigRegion), jsii.String(CustomEndpointKey))
	s.rule("CustomUrlOnlyForCustomRegion", "SysdigCustomUrl is required when SysdigRegion is custom and must be empty otherwise.",
		awscdk.Fn_ConditionOr(
			awscdk.Fn_ConditionAnd(isCustom, notEmpty(s.str(ParamSysdigCustomURL))),
			awscdk.Fn_ConditionAnd(awscdk.Fn_ConditionNot(isCustom), empty(s.str(ParamSysdigCustomURL))),
		))
}

// sysdigAPIURL adds the region mapping and returns the API base URL in use.
func (s *templateStack) sysdigAPIURL() *string {
	mapping := map[string]*map[string]interface{}{}
	for _, r := range SaaSRegions {
		mapping[r.Region] = &map[string]interface{}{"ApiUrl": r.URL}
	}
	// FindInMap fails on a missing key even in the branch of an Fn::If that is not
	// taken, so custom has a row; its value is never used.
	mapping[CustomEndpointKey] = &map[string]interface{}{"ApiUrl": "see-SysdigCustomUrl"}
	m := awscdk.NewCfnMapping(s.Stack, jsii.String("SysdigRegionMap"), &awscdk.CfnMappingProps{Mapping: &mapping})
	return s.ifCond(CondCustomEndpoint, s.str(ParamSysdigCustomURL),
		m.FindInMap(s.str(ParamSysdigRegion), jsii.String("ApiUrl"), nil))
}

// tokenSecret is the API token secret: created from the NoEcho parameter, or existing.
type tokenSecret struct {
	// Secret exists only under CondCreateTokenSecret.
	Secret awssecretsmanager.CfnSecret
	// ID is what the custom resources' ApiTokenSecretId receives (name or ARN).
	ID *string
	// ReadableResources is the IAM Resource value of GetSecretValue: exactly this secret.
	ReadableResources interface{}
	// Arn is the secret's ARN (for an existing secret given by name: without the suffix).
	Arn *string
}

func (s *templateStack) tokenSecret() *tokenSecret {
	secret := awssecretsmanager.NewCfnSecret(s.Stack, jsii.String("ApiTokenSecretResource"), &awssecretsmanager.CfnSecretProps{
		Description:  jsii.String("Sysdig Monitor API token (sysdig-aws-connect)."),
		SecretString: s.str(ParamAPIToken),
		KmsKeyId:     s.ifCond(CondHasTokenKmsKey, s.str(ParamAPITokenKmsKeyArn), awscdk.Aws_NO_VALUE()),
	})
	secret.CfnOptions().SetCondition(s.Conditions[CondCreateTokenSecret])
	secret.OverrideLogicalId(jsii.String("ApiTokenSecretResource"))
	// What GetSecretValue may read: the new secret; or the given ARN (full, or partial
	// without the 6-character suffix); or, for a name, that name in this account and region.
	nameArn := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":secretsmanager:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":secret:"), s.str(ParamAPITokenSecret),
	})
	suffixed := func(v *string) *string {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{v, jsii.String("-??????")})
	}
	return &tokenSecret{
		Secret: secret,
		ID:     s.ifCond(CondCreateTokenSecret, secret.Ref(), s.str(ParamAPITokenSecret)),
		ReadableResources: awscdk.Fn_ConditionIf(jsii.String(CondCreateTokenSecret),
			[]interface{}{secret.Ref()},
			awscdk.Fn_ConditionIf(jsii.String(CondTokenSecretIsArn),
				[]interface{}{s.str(ParamAPITokenSecret), suffixed(s.str(ParamAPITokenSecret))},
				[]interface{}{suffixed(nameArn)})),
		Arn: s.ifCond(CondCreateTokenSecret, secret.Ref(),
			awscdk.Fn_ConditionIf(jsii.String(CondTokenSecretIsArn), s.str(ParamAPITokenSecret), nameArn)),
	}
}

// tokenSecretPolicy lets only readerRoleArn read the value of the secret the stack
// creates. Only GetSecretValue is denied, so the account's administrators still manage
// the secret (describe, put a new value, tag, delete, and change or remove this policy).
func (s *templateStack) tokenSecretPolicy(secret awssecretsmanager.CfnSecret, readerRoleArn *string, sid string) awssecretsmanager.CfnResourcePolicy {
	p := awssecretsmanager.NewCfnResourcePolicy(s.Stack, jsii.String("ApiTokenSecretPolicy"), &awssecretsmanager.CfnResourcePolicyProps{
		SecretId:          secret.Ref(),
		BlockPublicPolicy: jsii.Bool(true),
		ResourcePolicy: map[string]interface{}{
			"Version": "2012-10-17",
			"Statement": []interface{}{map[string]interface{}{
				"Sid":       sid,
				"Effect":    "Deny",
				"Principal": map[string]interface{}{"AWS": "*"},
				"Action":    "secretsmanager:GetSecretValue",
				"Resource":  "*",
				"Condition": map[string]interface{}{"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": readerRoleArn}},
			}},
		},
	})
	p.CfnOptions().SetCondition(s.Conditions[CondCreateTokenSecret])
	return p
}

// functionCode is the bootstrap: from <CodeBucketPrefix>-<region> (publishable) or the asset.
func (s *templateStack) functionCode(publishable bool, assetDir string) awslambda.Code {
	if publishable {
		bucket := awss3.Bucket_FromBucketName(s.Stack, jsii.String("CodeBucket"), awscdk.Fn_Join(jsii.String("-"),
			&[]*string{s.str(ParamCodeBucketPrefix), awscdk.Aws_REGION()}))
		return awslambda.Code_FromBucket(bucket, s.str(ParamCodeKey), nil)
	}
	return awslambda.Code_FromAsset(jsii.String(assetDir), nil)
}

// connectorFunctionProps are the function settings every stack shares: code, the token
// secret it alone may read, its log retention, and the environment that bounds what a
// request may name (the stack's Sysdig URL, allowedSecretIDs, its TLS choice).
func (s *templateStack) connectorFunctionProps(publishable bool, assetDir string, apiURL *string, secret *tokenSecret, allowedSecretIDs *string) *ConnectorFunctionProps {
	var signing *string
	if publishable {
		signing = s.ifCond(CondHasCodeSigning, s.str(ParamCodeSigningConfigArn), awscdk.Aws_NO_VALUE())
	}
	return &ConnectorFunctionProps{
		Code:                 s.functionCode(publishable, assetDir),
		CodeSigningConfigArn: signing,
		TokenSecretResources: secret.ReadableResources,
		TokenKmsKeyArn:       s.str(ParamAPITokenKmsKeyArn),
		TokenKmsKeyCondition: s.Conditions[CondHasTokenKmsKey],
		LogRetentionDays:     s.Params[ParamLogRetentionDays].ValueAsNumber(),
		Statements:           []interface{}{vpcStatement()},
		Environment: map[string]*string{
			EnvAllowedAPIURLs:      apiURL,
			EnvAllowedSecretIDs:    allowedSecretIDs,
			EnvAllowSkipTLSVerify:  s.str(ParamSkipTLSVerify),
			EnvConcurrentInstances: jsii.String("1"),
		},
	}
}

// providerProps registers role with the stack's registration parameters (regions,
// OnExisting, DeregisterOnDelete, ProviderApi) under alias, after the role's policies.
func (s *templateStack) providerProps(common CommonProps, role *SysdigRole, alias *string) *SysdigProviderProps {
	return &SysdigProviderProps{
		CommonProps:        common,
		RoleArn:            role.Role.RoleArn(),
		Alias:              alias,
		Regions:            s.str(ParamDiscoveryRegions),
		OnExisting:         s.str(ParamOnExisting),
		DeregisterOnDelete: s.str(ParamDeregisterOnDelete),
		ProviderApi:        s.str(ParamProviderAPI),
		DependsOn:          role.Dependables(),
	}
}
