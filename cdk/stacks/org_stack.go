package stacks

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Parameter names of the Organizations deployer (besides the shared ones).
const (
	ParamOrganizationID             = "OrganizationId"
	ParamOrganizationalUnitIDs      = "OrganizationalUnitIds"
	ParamCallAs                     = "CallAs"
	ParamConnectManagementAccount   = "ConnectManagementAccount"
	ParamMaxConcurrentPercentage    = "MaxConcurrentPercentage"
	ParamFailureTolerancePercentage = "FailureTolerancePercentage"
	ParamConcurrencyMode            = "ConcurrencyMode"
	ParamRegionConcurrencyType      = "RegionConcurrencyType"
	ParamRegistrarConcurrency       = "RegistrarConcurrency"
)

// Conditions of the deployer.
const (
	CondConnectManagement        = "ConnectManagementAccountCondition"
	CondDelegatedAdmin           = "DelegatedAdmin"
	CondConnectManagementCapture = "ManagementAccountCaptureBucket"
	// CondHasDiscoveryRegions: DiscoveryRegions is passed to the members only when set.
	CondHasDiscoveryRegions = "HasDiscoveryRegions"
)

// Output names of the deployer.
const (
	OutRegistrarTopicArn = "RegistrarTopicArn"
	OutRegistrarRoleArn  = "RegistrarRoleArn"
	OutRegistrarLogGroup = "RegistrarLogGroupName"
	OutMemberStackSetID  = "MemberStackSetId"
)

// Defaults of the deployer.
const (
	DefaultRegistrarConcurrency       = 5
	DefaultMaxConcurrentPercentage    = 10
	DefaultFailureTolerancePercentage = 10
)

// OrgStackProps configures OrgStack.
type OrgStackProps struct {
	awscdk.StackProps
	// Publishable builds the standalone template (code from <CodeBucketPrefix>-<region>).
	Publishable bool
	// AssetDir holds the bootstrap binary (cdk deploy; ignored when Publishable).
	AssetDir string
	// MemberTemplateDir receives the member template file the cdk deploy asset is made
	// of (empty: member-template beside AssetDir; ignored when Publishable).
	MemberTemplateDir string
	// Tags are set on the StackSet, which gives them to every member stack and, through
	// CloudFormation's propagation, to the member roles.
	Tags map[string]string
}

// OrgStack is the AWS Organizations deployer: the registrar (the same function, behind
// an SNS topic only this organization may publish to), the token secret only the
// registrar may read, the external ID, a service-managed StackSet that deploys
// MemberStack to every account of the given OUs in this one region, and the management
// account's own role and registration (StackSets never deploy there).
type OrgStack struct {
	*templateStack
	Registrar         *ConnectorFunction
	TokenSecret       awssecretsmanager.CfnSecret
	SecretPolicy      awssecretsmanager.CfnResourcePolicy
	Topic             awssns.CfnTopic
	TopicPolicy       awssns.CfnTopicPolicy
	Subscription      awssns.CfnSubscription
	Permission        awslambda.CfnPermission
	ExternalID        *SysdigExternalID
	OnPrem            *OnPremAccess
	StackSet          awscloudformation.CfnStackSet
	Role              *SysdigRole     // the management account's own, conditional
	Provider          *SysdigProvider // the management account's own, conditional
	MemberTemplateURL *string         // where the StackSet reads the member template
	externalIDUse     *string
	trusted           *string
	secretArn         *string

	// IdempotencyTable records the requests the registrar has seen (duplicate deliveries).
	IdempotencyTable awsdynamodb.CfnTable

	// AlarmRouting takes every alarm of the deployer (AlarmActions for other constructs).
	AlarmRouting *AlarmRouting
	// Operations is the nested stack with the registrar's alarms, its dashboard and the
	// scheduled drift check (OperationsStack), read from S3 like the member template.
	Operations awscloudformation.CfnStack
	// RegistryTable is the registry of record (registry_table.go).
	RegistryTable awsdynamodb.CfnTable
}

// orgParameterGroups orders and labels the deployer's parameters in the console.
var orgParameterGroups = []parameterGroup{
	{"Organization", []string{ParamOrganizationID, ParamOrganizationalUnitIDs, ParamCallAs, ParamConnectManagementAccount}},
	{"Sysdig endpoint", []string{ParamSysdigRegion, ParamSysdigCustomURL, ParamSysdigAwsAccountID, ParamSkipTLSVerify}},
	{"Sysdig API token (exactly one of the first two; stays in this account)", []string{ParamAPITokenSecret, ParamAPIToken, ParamAPITokenKmsKeyArn}},
	{"Role delegation (every account)", []string{ParamExternalID, ParamRoleName, ParamRolePath, ParamPermissionsBoundaryArn}},
	{"On-prem Sysdig: who assumes the roles", []string{ParamOnPremCredentials, ParamOnPremPrincipalArn}},
	{"Sysdig account registration", []string{ParamDiscoveryRegions, ParamProviderAliasPrefix, ParamOnExisting, ParamDeregisterOnDelete, ParamProviderAPI}},
	{"Capture storage (sysdig_s3)", []string{ParamCaptureBucketName}},
	{"StackSet rollout", []string{ParamMaxConcurrentPercentage, ParamFailureTolerancePercentage, ParamConcurrencyMode, ParamRegionConcurrencyType}},
	{"Registrar function", []string{ParamRegistrarConcurrency, ParamLogRetentionDays, ParamCodeBucketPrefix, ParamCodeKey, ParamMemberTemplateKey, ParamOperationsTemplateKey, ParamCodeSigningConfigArn, ParamDriftCheckSchedule}},
	hardeningGroup,
}

// NewOrgStack builds the deployer. The StackSet reads the member template from S3
// (memberTemplateURL): beside the code when Publishable, a CDK asset otherwise.
func NewOrgStack(scope constructs.Construct, id string, props *OrgStackProps) (*OrgStack, error) {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String(describe("sysdig-aws-connect for AWS Organizations: a StackSet connects every account of the given OUs to Sysdig Monitor; the API token stays in this account."))
	}
	if props.Publishable {
		standaloneStackProps(&sp)
	} else if props.AssetDir == "" {
		return nil, fmt.Errorf("stacks: AssetDir is required unless Publishable")
	}
	s := &OrgStack{templateStack: newTemplateStack(awscdk.NewStack(scope, jsii.String(id), &sp))}
	s.parameters(props.Publishable)
	s.driftCheckScheduleParam("Scheduler expression (UTC), e.g. rate(6 hours); none: no drift check.")
	s.conditionsAndRules()
	if err := s.resources(props); err != nil {
		return nil, err
	}
	s.outputs()
	s.consoleInterface(orgParameterGroups, map[string]string{ParamLogRetentionDays: "Registrar log retention (days)",
		ParamDriftCheckSchedule: "Drift check schedule"})
	suppress(s.TokenSecret, "AwsSolutions-SMG4", reasonNoRotation)
	suppress(s.Topic, "AwsSolutions-SNS2", reasonTopicNoKMS)
	suppress(s.Registrar.Role, "AwsSolutions-IAM5", reasonStackSetID,
		"Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:*:stackset/<AWS::StackName>-members:*", "Resource::*")
	s.acknowledgeValidationWarnings()
	return s, nil
}

// stackSetResource is the registrar's StackSet in DescribeStackInstance's IAM resource form.
const stackSetResource = "arn:${AWS::Partition}:cloudformation:${AWS::Region}:*:stackset/${AWS::StackName}-members:*"

func (s *OrgStack) parameters(publishable bool) {
	s.param(ParamOrganizationID, &awscdk.CfnParameterProps{
		AllowedPattern:        jsii.String(`^o-[a-z0-9]{10,32}$`),
		ConstraintDescription: jsii.String("an organization id such as o-a1b2c3d4e5"),
		Description:           jsii.String("Your AWS Organization's id (aws organizations describe-organization): only its principals may publish to the registrar topic."),
	})
	s.param(ParamOrganizationalUnitIDs, &awscdk.CfnParameterProps{
		Type:                  jsii.String("CommaDelimitedList"),
		AllowedPattern:        jsii.String(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`),
		ConstraintDescription: jsii.String("root or OU ids such as r-ab12 or ou-ab12-cd34ef56"),
		Description:           jsii.String("OUs whose accounts are connected, comma-separated; the root id (r-xxxx) connects the whole organization. Accounts that join them later are connected automatically."),
	})
	s.param(ParamCallAs, &awscdk.CfnParameterProps{
		Default:       jsii.String("SELF"),
		AllowedValues: jsii.Strings("SELF", "DELEGATED_ADMIN"),
		Description:   jsii.String("SELF in the management account; DELEGATED_ADMIN in a StackSets delegated administrator account."),
	})
	s.param(ParamConnectManagementAccount, trueFalse("true", "true also connects this (management) account, where StackSets never deploy. Requires CallAs SELF."))

	s.endpointParams()
	s.tokenParams()
	s.externalIDParam(false)
	s.roleParams()
	s.onPremParams(OnPremNone, OnPremCreateUser, OnPremExistingPrincipal)
	s.registrationParams()
	s.aliasPrefixParam()
	s.param(ParamCaptureBucketName, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`),
		ConstraintDescription: jsii.String("an S3 bucket name"),
		Description:           jsii.String("Optional existing bucket for Sysdig captures; every account's role gets sysdig_s3 on it (the bucket policy must allow them). Empty: none."),
	})

	s.param(ParamMaxConcurrentPercentage, &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.Number(DefaultMaxConcurrentPercentage),
		MinValue:    jsii.Number(1),
		MaxValue:    jsii.Number(100),
		Description: jsii.String("Percentage of the accounts the StackSet deploys to at once."),
	})
	s.param(ParamFailureTolerancePercentage, &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.Number(DefaultFailureTolerancePercentage),
		MinValue:    jsii.Number(0),
		MaxValue:    jsii.Number(100),
		Description: jsii.String("Percentage of the accounts that may fail before the StackSet stops the operation."),
	})
	s.param(ParamConcurrencyMode, &awscdk.CfnParameterProps{
		Default:       jsii.String("SOFT_FAILURE_TOLERANCE"),
		AllowedValues: jsii.Strings("SOFT_FAILURE_TOLERANCE", "STRICT_FAILURE_TOLERANCE"),
		Description:   jsii.String("SOFT keeps MaxConcurrentPercentage; STRICT caps concurrency at the failure tolerance + 1 account."),
	})
	s.param(ParamRegionConcurrencyType, &awscdk.CfnParameterProps{
		Default:       jsii.String("PARALLEL"),
		AllowedValues: jsii.Strings("PARALLEL", "SEQUENTIAL"),
		Description:   jsii.String("How the StackSet proceeds through regions (it deploys to this stack's region only)."),
	})
	s.param(ParamRegistrarConcurrency, &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.Number(DefaultRegistrarConcurrency),
		MinValue:    jsii.Number(1),
		MaxValue:    jsii.Number(1000),
		Description: jsii.String("Registrations the registrar runs at once (the rest queue); they share Sysdig's rate limit."),
	})
	s.logRetentionParam()
	s.hardeningParams()
	s.alarmParams()
	if publishable {
		s.codeParams()
		s.templateKeyParams()
	}
}

func (s *OrgStack) conditionsAndRules() {
	s.endpointAndTokenConditions()
	s.cond(CondFetchExternalID, empty(s.str(ParamExternalID)))
	s.trustConditions(true)
	s.askSysdigCondition()
	s.cond(CondHasBoundary, notEmpty(s.str(ParamPermissionsBoundaryArn)))
	s.cond(CondUseCaptureBucket, notEmpty(s.str(ParamCaptureBucketName)))
	s.cond(CondHasDiscoveryRegions, notEmpty(s.str(ParamDiscoveryRegions)))
	s.cond(CondConnectManagement, awscdk.Fn_ConditionEquals(s.str(ParamConnectManagementAccount), jsii.String("true")))
	s.cond(CondDelegatedAdmin, awscdk.Fn_ConditionEquals(s.str(ParamCallAs), jsii.String("DELEGATED_ADMIN")))
	s.cond(CondConnectManagementCapture, awscdk.Fn_ConditionAnd(s.Conditions[CondConnectManagement], s.Conditions[CondUseCaptureBucket]))
	s.endpointAndTokenRules()
	// A delegated administrator is a member account: the StackSet connects it when it is
	// in a targeted OU, and the management account is not this account. The registrar
	// serves only the StackSet's instances, so the management account needs a stack of
	// its own (the single-account template), not the member template launched by hand.
	s.rule("ManagementAccountOnlyAsSelf", "ConnectManagementAccount true requires CallAs SELF (launch in the management account); "+
		"with a delegated administrator, connect the management account with the single-account template.",
		awscdk.Fn_ConditionOr(
			awscdk.Fn_ConditionEquals(s.str(ParamCallAs), jsii.String("SELF")),
			awscdk.Fn_ConditionEquals(s.str(ParamConnectManagementAccount), jsii.String("false")),
		))
}

func (s *OrgStack) resources(props *OrgStackProps) error {
	apiURL := s.sysdigAPIURL()

	// The token secret stays here; members get only its ARN.
	secret := s.tokenSecret()
	s.TokenSecret = secret.Secret
	s.secretArn = secret.Arn

	// The registrar: the same function, reading only that secret.
	// Members ask through the topic and name the URL and secret themselves: the registrar
	// sends the token only to this stack's Sysdig, from this stack's secret (as this
	// account's resources name it, and as members receive it).
	registrar := s.connectorFunctionProps(props.Publishable, props.AssetDir, apiURL, secret,
		awscdk.Fn_Join(jsii.String(","), &[]*string{secret.ID, secret.Arn}))
	registrar.ReservedConcurrency = s.Params[ParamRegistrarConcurrency].ValueAsNumber()
	// Requests through the topic are authenticated: CloudFormation, asked in this account,
	// must confirm the member stack is the StackSet's instance in a running operation.
	registrar.Environment[EnvStackSetName] = s.stackSetName()
	registrar.Environment[EnvStackSetCallAs] = s.str(ParamCallAs)
	registrar.Environment[EnvDeployerStackID] = awscdk.Aws_STACK_ID()
	registrar.Statements = append(registrar.Statements, map[string]interface{}{
		"Sid":    "AuthenticateMemberRequests",
		"Effect": "Allow",
		"Action": "cloudformation:DescribeStackInstance",
		// The StackSet's ARN ends in its generated id, and names the management account,
		// where StackSets live even when a delegated administrator created them.
		"Resource": awscdk.Fn_Sub(jsii.String(stackSetResource), nil),
	},
		// A delegated administrator's calls with CallAs=DELEGATED_ADMIN are refused
		// ("Account used is not a delegated administrator") without this read.
		awscdk.Fn_ConditionIf(jsii.String(CondDelegatedAdmin), map[string]interface{}{
			"Sid": "ActAsDelegatedAdministrator", "Effect": "Allow", "Action": "organizations:ListDelegatedAdministrators", "Resource": "*",
		}, awscdk.Aws_NO_VALUE()))
	// The instances share Sysdig's rate limit: each paces to its part of it.
	registrar.Environment[EnvConcurrentInstances] = s.str(ParamRegistrarConcurrency)
	registrar.MaxEventAgeSeconds = OrgMaxEventAgeSeconds
	s.IdempotencyTable = newIdempotencyTable(s.Stack)
	registrar.Environment[EnvIdempotencyTable] = s.IdempotencyTable.Ref()
	s.addRegistryTable(registrar)
	registrar.Statements = append(registrar.Statements, tableItemsStatement(s.IdempotencyTable, s.RegistryTable))
	s.Registrar = NewConnectorFunction(s.Stack, "Registrar", registrar)
	s.harden(s.Registrar)
	s.AlarmRouting = s.alarmRouting(true)
	registrarRoleArn := s.Registrar.Role.AttrArn()

	// A secret this stack creates: nobody but the registrar may read the value.
	s.SecretPolicy = s.tokenSecretPolicy(s.TokenSecret, registrarRoleArn, "OnlyTheRegistrarReadsTheToken")

	// The registrar topic: members' registrations arrive here.
	s.Topic = awssns.NewCfnTopic(s.Stack, jsii.String("RegistrarTopic"), &awssns.CfnTopicProps{
		DisplayName: jsii.String("sysdig-aws-connect registrar"),
	})
	s.TopicPolicy = awssns.NewCfnTopicPolicy(s.Stack, jsii.String("RegistrarTopicPolicy"), &awssns.CfnTopicPolicyProps{
		Topics: &[]*string{s.Topic.Ref()},
		PolicyDocument: map[string]interface{}{
			"Version": "2012-10-17",
			"Statement": []interface{}{
				map[string]interface{}{
					"Sid":       "OrganizationPublishes",
					"Effect":    "Allow",
					"Principal": map[string]interface{}{"AWS": "*"},
					"Action":    "sns:Publish",
					"Resource":  s.Topic.Ref(),
					"Condition": map[string]interface{}{"StringEquals": map[string]interface{}{"aws:PrincipalOrgID": s.str(ParamOrganizationID)}},
				},
				map[string]interface{}{
					"Sid":       "TLSOnly",
					"Effect":    "Deny",
					"Principal": "*",
					"Action":    "sns:Publish",
					"Resource":  s.Topic.Ref(),
					"Condition": map[string]interface{}{"Bool": map[string]interface{}{"aws:SecureTransport": "false"}},
				},
			},
		},
	})
	s.Permission = awslambda.NewCfnPermission(s.Stack, jsii.String("RegistrarInvokePermission"), &awslambda.CfnPermissionProps{
		Action:       jsii.String("lambda:InvokeFunction"),
		FunctionName: s.Registrar.Function.FunctionArn(),
		Principal:    jsii.String("sns.amazonaws.com"),
		SourceArn:    s.Topic.Ref(),
	})
	s.Subscription = awssns.NewCfnSubscription(s.Stack, jsii.String("RegistrarSubscription"), &awssns.CfnSubscriptionProps{
		Protocol: jsii.String("lambda"),
		Endpoint: s.Registrar.Function.FunctionArn(),
		TopicArn: s.Topic.Ref(),
	})
	s.Subscription.Node().AddDependency(s.Permission)

	common := CommonProps{
		ServiceToken:     s.Registrar.ServiceToken(),
		SysdigApiUrl:     apiURL,
		ApiTokenSecretId: secret.ID,
		SkipTlsVerify:    s.str(ParamSkipTLSVerify),
		ServiceTimeout:   seconds(OrgServiceTimeoutSeconds),
	}
	s.ExternalID = NewSysdigExternalID(s.Stack, "SysdigExternalId", s.externalIDProps(common))
	s.externalIDUse = s.ifCond(CondFetchExternalID, s.ExternalID.ExternalID(), s.str(ParamExternalID))

	// On-prem: one principal in this account assumes the role in every account.
	boundary := s.ifCond(CondHasBoundary, s.str(ParamPermissionsBoundaryArn), awscdk.Aws_NO_VALUE())
	s.OnPrem = s.onPremUser(onPremUserProps{
		Path:     s.str(ParamRolePath),
		Boundary: boundary,
		KmsKey:   s.ifCond(CondHasTokenKmsKey, s.str(ParamAPITokenKmsKeyArn), awscdk.Aws_NO_VALUE()),
	})
	// The role has the same path and name in every account of the organization, and only there.
	s.onPremPolicy(s.OnPrem, awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":iam::*:role"), s.str(ParamRolePath), s.str(ParamRoleName),
	}), map[string]interface{}{"StringEquals": map[string]interface{}{"aws:ResourceOrgID": s.str(ParamOrganizationID)}})
	suppress(s.OnPrem.Policy, "AwsSolutions-IAM5", reasonOnPremOrgRoles)
	s.trusted = s.ifCond(CondOnPrem, s.OnPrem.PrincipalArn, rootArn(s.sysdigAccountInUse(s.ExternalID)))

	if err := s.stackSet(props, apiURL); err != nil {
		return err
	}

	// The management account: StackSets never deploy there.
	s.Role = NewSysdigRole(s.Stack, "Sysdig", &SysdigRoleProps{
		TrustedPrincipalArn:    s.trusted,
		ExternalID:             s.externalIDUse,
		RoleName:               s.str(ParamRoleName),
		Path:                   s.str(ParamRolePath),
		PermissionsBoundaryArn: boundary,
		CaptureBucketName:      s.str(ParamCaptureBucketName),
		CaptureBucketCondition: s.Conditions[CondConnectManagementCapture],
		Condition:              s.Conditions[CondConnectManagement],
	})
	prov := common
	prov.Condition = s.Conditions[CondConnectManagement]
	s.Provider = NewSysdigProvider(s.Stack, "SysdigProvider", s.providerProps(prov, s.Role, s.aliasFromPrefix()))
	// The on-prem principal can assume the roles before any of them is registered.
	s.Provider.Resource.Node().AddDependency(s.OnPrem.Ready)
	s.StackSet.Node().AddDependency(s.OnPrem.Ready)

	setRoleLogicalIDs(s.Role)
	setLogicalID(s.Provider.Resource, "SysdigProvider")
	setLogicalID(s.ExternalID.Resource, "SysdigExternalId")
	setLogicalID(s.Registrar.Function, "RegistrarFunction")
	setLogicalID(s.Registrar.LogGroup, "RegistrarLogGroup")
	s.Registrar.Role.OverrideLogicalId(jsii.String("RegistrarRole"))
	setLogicalID(s.Registrar.AsyncInvoke, "RegistrarAsyncInvokeConfig")
	s.Registrar.DeadLetters.OverrideLogicalId(jsii.String("RegistrarDeadLetterQueue"))
	return s.operations(props, registrar, apiURL)
}

// stackSetName is the StackSet's name: fixed by the stack name, so the registrar can know
// it without depending on the StackSet (which depends on the registrar).
func (s *OrgStack) stackSetName() *string {
	return awscdk.Fn_Sub(jsii.String("${AWS::StackName}-members"), nil)
}

// stackSet deploys the member template to every account of the OUs, in this region only.
func (s *OrgStack) stackSet(props *OrgStackProps, apiURL *string) error {
	var err error
	if s.MemberTemplateURL, err = s.templateURL(props, memberNested); err != nil {
		return err
	}
	param := func(key string, value *string) interface{} {
		return &awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(key), ParameterValue: value}
	}
	// Optional values that may be empty are passed only when set (the member's default
	// is empty): an empty ParameterValue is not something to rely on.
	// (Inside Fn::If CDK does not translate a struct's field names: a plain map.)
	optional := func(cond, key string) interface{} {
		return awscdk.Fn_ConditionIf(jsii.String(cond),
			map[string]interface{}{"ParameterKey": key, "ParameterValue": s.str(key)}, awscdk.Aws_NO_VALUE())
	}
	parameters := []interface{}{
		param(ParamRegistrarTopicArn, s.Topic.Ref()),
		param(ParamAPITokenSecretArn, s.secretArn),
		param(ParamSysdigAPIURL, apiURL),
		// Members trust the deployer's on-prem principal (its user, or the one given), or
		// Sysdig's account as the deployer's custom resource chose it.
		param(ParamOnPremCredentials, s.ifCond(CondOnPrem, jsii.String(OnPremExistingPrincipal), jsii.String(OnPremNone))),
		awscdk.Fn_ConditionIf(jsii.String(CondOnPrem),
			map[string]interface{}{"ParameterKey": ParamOnPremPrincipalArn, "ParameterValue": s.OnPrem.PrincipalArn},
			map[string]interface{}{"ParameterKey": ParamSysdigAwsAccountID, "ParameterValue": s.sysdigAccountInUse(s.ExternalID)}),
		param(ParamSkipTLSVerify, s.str(ParamSkipTLSVerify)),
		param(ParamExternalID, s.externalIDUse),
		param(ParamRoleName, s.str(ParamRoleName)),
		param(ParamRolePath, s.str(ParamRolePath)),
		optional(CondHasBoundary, ParamPermissionsBoundaryArn),
		optional(CondHasDiscoveryRegions, ParamDiscoveryRegions),
		param(ParamProviderAliasPrefix, s.str(ParamProviderAliasPrefix)),
		param(ParamOnExisting, s.str(ParamOnExisting)),
		param(ParamDeregisterOnDelete, s.str(ParamDeregisterOnDelete)),
		param(ParamProviderAPI, s.str(ParamProviderAPI)),
		optional(CondUseCaptureBucket, ParamCaptureBucketName),
	}
	var tags []*awscdk.CfnTag
	keys := make([]string, 0, len(props.Tags))
	for k := range props.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tags = append(tags, &awscdk.CfnTag{Key: jsii.String(k), Value: jsii.String(props.Tags[k])})
	}
	ss := &awscloudformation.CfnStackSetProps{
		StackSetName:    s.stackSetName(),
		Description:     jsii.String("sysdig-aws-connect member accounts: the Sysdig role and its registration through the registrar topic."),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          s.str(ParamCallAs),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled: jsii.Bool(true),
			// An account leaving the OUs loses its stack instance, which deregisters it.
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		ManagedExecution: map[string]interface{}{"Active": true},
		Capabilities:     jsii.Strings("CAPABILITY_NAMED_IAM"),
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			MaxConcurrentPercentage:    s.Params[ParamMaxConcurrentPercentage].ValueAsNumber(),
			FailureTolerancePercentage: s.Params[ParamFailureTolerancePercentage].ValueAsNumber(),
			ConcurrencyMode:            s.str(ParamConcurrencyMode),
			RegionConcurrencyType:      s.str(ParamRegionConcurrencyType),
		},
		// One region: IAM is global, and an instance per region would register each
		// account once per region (Datadog's issue #85).
		StackInstancesGroup: []interface{}{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: s.Params[ParamOrganizationalUnitIDs].ValueAsList(),
			},
			Regions: &[]*string{awscdk.Aws_REGION()},
		}},
		Parameters:  parameters,
		TemplateUrl: s.MemberTemplateURL,
	}
	if len(tags) > 0 {
		ss.Tags = &tags
	}
	s.StackSet = awscloudformation.NewCfnStackSet(s.Stack, jsii.String("MemberStackSet"), ss)
	// Members publish as soon as their stacks start: the registrar, its queue settings,
	// the topic policy and the subscription must be in place first (and, on delete,
	// stay until every member stack is gone).
	s.StackSet.Node().AddDependency(s.TopicPolicy, s.Subscription, s.Permission, s.Registrar.AsyncInvoke, s.Registrar.Function)
	return nil
}

func (s *OrgStack) outputs() {
	s.output(OutRegistrarTopicArn, "Registrar topic: the ServiceToken of every member registration.", s.Topic.Ref(), nil)
	s.output(OutTokenSecretArn, "Secret holding the Sysdig API token (members pass this ARN; only the registrar reads it).", s.secretArn, nil)
	s.output(OutRegistrarRoleArn, "The registrar's execution role: the only principal that should read the token secret.", s.Registrar.Role.AttrArn(), nil)
	s.output(OutExternalID, "External ID in every account's trust policy.", s.externalIDUse, nil)
	s.output(OutMemberStackSetID, "The StackSet that connects the member accounts.", s.StackSet.AttrStackSetId(), nil)
	s.output(OutRoleArn, "ARN of the role Sysdig assumes in this account.", s.Role.Role.RoleArn(), s.Conditions[CondConnectManagement])
	s.output(OutProviderID, "Id of this account's registration in Sysdig.", s.Provider.ProviderID(), s.Conditions[CondConnectManagement])
	s.output(OutReportedSysdigAcct, "Sysdig's AWS account id as the custom resource chose it (reported by Sysdig, or given).", s.ExternalID.SysdigAwsAccountID(), s.Conditions[CondAskSysdig])
	s.output(OutTrustedPrincipal, "The principal every account's role trusts: Sysdig's account root, or the on-prem principal.", s.trusted, nil)
	s.output(OutOnPremSecretArn, "Secret with the on-prem backend's access key (sysdig-connect onprem k8s-secret --secret <this>).", s.OnPrem.Secret.Ref(), s.Conditions[CondCreateOnPremUser])
	s.output(OutOnPremUserName, "IAM user of the on-prem backend (sysdig-connect onprem rotate-key --user <this>).", s.OnPrem.User.Ref(), s.Conditions[CondCreateOnPremUser])
	s.output(OutOnPremPolicy, "Attach this policy to OnPremPrincipalArn (it is in another account, or has a path).", s.OnPrem.PolicyJSON, s.Conditions[CondPrintOnPremPolicy])
	s.output(OutRegistrarLogGroup, "Log group of the registrar (read it when a registration fails).", s.Registrar.LogGroup.LogGroupName(), nil)
	s.permissionsVersionOutput()
	s.output(OutRegistryTableName, "Registry of record.", s.RegistryTable.Ref(), nil)
}

func (s *OrgStack) acknowledgeValidationWarnings() {
	ack := func(c constructs.IConstruct, id, reason string) {
		awscdk.Validations_Of(c).Acknowledge(&awscdk.Acknowledgment{
			Id:     jsii.String("CloudFormation-Validate::" + id),
			Reason: jsii.String(reason),
		})
	}
	ack(s.Stack, "W1001", "Outputs reference conditional resources only inside Fn::If on that resource's own condition, or carry the same condition.")
	ack(s.Stack, "W2509", "ApiTokenSecret is the name or ARN of a secret, not a secret; the token itself is the NoEcho ApiToken.")
	ack(s.TokenSecret, "W1030", "The secret exists only under CreateTokenSecret, i.e. when ApiToken is not empty.")
	ack(s.Stack, "W1030", reasonSigningNoValue)
	ack(s.Role.Role.Node().DefaultChild(), "W1030", "PermissionsBoundary is Fn::If(HasPermissionsBoundary, the ARN, AWS::NoValue): never empty.")
	ack(s.OnPrem.User, "W1030", "PermissionsBoundary is Fn::If(HasPermissionsBoundary, the ARN, AWS::NoValue): never empty.")
}
