package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Parameter names of the member template (besides the shared ones).
const (
	ParamRegistrarTopicArn = "RegistrarTopicArn"
	ParamAPITokenSecretArn = "ApiTokenSecretArn"
	ParamSysdigAPIURL      = "SysdigApiUrl"
)

// MemberStack is what the Organizations StackSet deploys in every member account: the
// role Sysdig assumes with its policies (as in ConnectStack) and its registration
// (Custom::SysdigProvider) sent to the management account's registrar topic. It holds no
// Lambda and no secret: the registrar reads the token in the management account.
type MemberStack struct {
	*templateStack
	Role     *SysdigRole
	Provider *SysdigProvider
}

// memberParameterGroups orders and labels the member template's parameters.
var memberParameterGroups = []parameterGroup{
	{"Registrar (the deployer stack's outputs)", []string{ParamRegistrarTopicArn, ParamAPITokenSecretArn}},
	{"Sysdig endpoint", []string{ParamSysdigAPIURL, ParamSysdigAwsAccountID, ParamSkipTLSVerify}},
	{"Role delegation", []string{ParamExternalID, ParamRoleName, ParamRolePath, ParamPermissionsBoundaryArn}},
	{"On-prem Sysdig: who assumes the role", []string{ParamOnPremCredentials, ParamOnPremPrincipalArn}},
	{"Sysdig account registration", []string{ParamDiscoveryRegions, ParamProviderAliasPrefix, ParamOnExisting, ParamDeregisterOnDelete, ParamProviderAPI}},
	{"Capture storage (sysdig_s3)", []string{ParamCaptureBucketName}},
}

// NewMemberStack builds the member template. It is always standalone (no assets, no
// bootstrap): StackSets deploy it as it is.
func NewMemberStack(scope constructs.Construct, id string, sp *awscdk.StackProps) *MemberStack {
	props := *sp
	if props.Description == nil {
		props.Description = jsii.String(describe("sysdig-aws-connect member: the Sysdig role of this account, registered by the organization's registrar (no Lambda, no secret here)."))
	}
	standaloneStackProps(&props)
	s := &MemberStack{templateStack: newTemplateStack(awscdk.NewStack(scope, jsii.String(id), &props))}

	s.param(ParamRegistrarTopicArn, &awscdk.CfnParameterProps{
		AllowedPattern:        jsii.String(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`),
		ConstraintDescription: jsii.String("an SNS topic ARN"),
		Description:           jsii.String("The registrar topic of the deployer stack (its RegistrarTopicArn output): the ServiceToken of the registration."),
	})
	s.param(ParamAPITokenSecretArn, &awscdk.CfnParameterProps{
		AllowedPattern:        jsii.String(secretArnPattern),
		ConstraintDescription: jsii.String("a Secrets Manager secret ARN"),
		Description:           jsii.String("ARN of the token secret in the deployer's account (its ApiTokenSecretArn output). Only the registrar reads it."),
	})
	s.param(ParamSysdigAPIURL, &awscdk.CfnParameterProps{
		Default:               jsii.String(SaaSRegions[0].URL),
		AllowedPattern:        jsii.String(apiURLPattern),
		MaxLength:             jsii.Number(maxAPIURLLength),
		ConstraintDescription: jsii.String(apiURLConstraint),
		Description:           jsii.String("Sysdig API base URL of your tenant, https://."),
	})
	s.sysdigAccountParam()
	s.Params[ParamSysdigAwsAccountID].SetDescription(jsii.String("Sysdig's AWS account the role trusts (the deployer passes the one Sysdig reports; by hand: sysdig-connect external-id). Not used on-prem."))
	s.skipTLSParam()
	s.externalIDParam(true)
	s.roleParams()
	// A user per account would give the on-prem backend one key per account: the deployer
	// creates one user (CreateUser there) and passes it here as ExistingPrincipal.
	s.onPremParams(OnPremNone, OnPremExistingPrincipal)
	s.registrationParams()
	s.aliasPrefixParam()
	s.param(ParamCaptureBucketName, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`),
		ConstraintDescription: jsii.String("an S3 bucket name"),
		Description:           jsii.String("Optional existing bucket for Sysdig captures (adds the sysdig_s3 policy naming it). Empty: none."),
	})

	s.cond(CondHasBoundary, notEmpty(s.str(ParamPermissionsBoundaryArn)))
	s.cond(CondUseCaptureBucket, notEmpty(s.str(ParamCaptureBucketName)))
	s.trustConditions(false)
	trusted := s.ifCond(CondOnPrem, s.str(ParamOnPremPrincipalArn), rootArn(s.str(ParamSysdigAwsAccountID)))

	s.Role = NewSysdigRole(s.Stack, "Sysdig", &SysdigRoleProps{
		TrustedPrincipalArn:    trusted,
		ExternalID:             s.str(ParamExternalID),
		RoleName:               s.str(ParamRoleName),
		Path:                   s.str(ParamRolePath),
		PermissionsBoundaryArn: s.ifCond(CondHasBoundary, s.str(ParamPermissionsBoundaryArn), awscdk.Aws_NO_VALUE()),
		CaptureBucketName:      s.str(ParamCaptureBucketName),
		CaptureBucketCondition: s.Conditions[CondUseCaptureBucket],
	})
	s.Provider = NewSysdigProvider(s.Stack, "SysdigProvider", s.providerProps(CommonProps{
		ServiceToken:     s.str(ParamRegistrarTopicArn),
		SysdigApiUrl:     s.str(ParamSysdigAPIURL),
		ApiTokenSecretId: s.str(ParamAPITokenSecretArn),
		SkipTlsVerify:    s.str(ParamSkipTLSVerify),
		ServiceTimeout:   seconds(OrgServiceTimeoutSeconds),
	}, s.Role, s.aliasFromPrefix()))
	setRoleLogicalIDs(s.Role)
	setLogicalID(s.Provider.Resource, "SysdigProvider")

	s.output(OutRoleArn, "ARN of the role Sysdig assumes.", s.Role.Role.RoleArn(), nil)
	s.output(OutTrustedPrincipal, "The principal the role trusts: Sysdig's account root, or the on-prem principal.", trusted, nil)
	s.output(OutProviderID, "Id of this account's registration in Sysdig.", s.Provider.ProviderID(), nil)
	s.output(OutProviderStatus, "Status Sysdig reported for the registration.", s.Provider.Status(), nil)
	s.output(OutProviderAlias, "Alias of the account in Sysdig.", s.Provider.Alias(), nil)
	s.permissionsVersionOutput()
	s.consoleInterface(memberParameterGroups, map[string]string{ParamExternalID: "External ID"})
	awscdk.Validations_Of(s.Role.Role.Node().DefaultChild()).Acknowledge(&awscdk.Acknowledgment{
		Id:     jsii.String("CloudFormation-Validate::W1030"),
		Reason: jsii.String("PermissionsBoundary is Fn::If(HasPermissionsBoundary, the ARN, AWS::NoValue): never empty."),
	})
	awscdk.Validations_Of(s.Stack).Acknowledge(&awscdk.Acknowledgment{
		Id:     jsii.String("CloudFormation-Validate::W2509"),
		Reason: jsii.String("ApiTokenSecretArn is the ARN of a secret in another account, not a secret; nobody here can read it."),
	})
	return s
}

// setRoleLogicalIDs names the role's resources as in the single-account template.
func setRoleLogicalIDs(r *SysdigRole) {
	setLogicalID(r.Role, "SysdigRole")
	setLogicalID(r.CloudWatchPolicy, "SysdigCloudWatchPolicy")
	setLogicalID(r.S3Policy, "SysdigS3Policy")
	r.PoliciesReady.OverrideLogicalId(jsii.String("SysdigPoliciesReady"))
}
