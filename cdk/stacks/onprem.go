package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
)

// The trusted principal: Sysdig's AWS account (SaaS, as the tenant reports it) or, on-prem,
// the customer's own principal that the on-prem backend runs as (the seed's "Additional
// Configuration for On-Prem").

// Parameters (pinned by issue 8).
const (
	ParamOnPremCredentials  = "OnPremCredentials"
	ParamOnPremPrincipalArn = "OnPremPrincipalArn"
)

// OnPremCredentials values.
const (
	OnPremNone              = "None"
	OnPremCreateUser        = "CreateUser"
	OnPremExistingPrincipal = "ExistingPrincipal"
)

// Conditions.
const (
	// CondOnPrem: the role trusts the on-prem principal, not Sysdig's account.
	CondOnPrem = "OnPremPrincipal"
	// CondCreateOnPremUser: the stack creates the IAM user, its key and the key's secret.
	CondCreateOnPremUser = "CreateOnPremUser"
	// CondAttachToRole / CondAttachToUser: ExistingPrincipal names a role (user) of this
	// account without a path, so the stack can attach the AssumeRole policy to it by name.
	CondAttachToRole = "AttachToOnPremRole"
	CondAttachToUser = "AttachToOnPremUser"
	// CondAttachOnPremPolicy: the stack attaches the AssumeRole policy (to its user or to
	// the existing principal); CondPrintOnPremPolicy: it prints it instead.
	CondAttachOnPremPolicy = "AttachOnPremPolicy"
	CondPrintOnPremPolicy  = "PrintOnPremPolicy"
	// CondUseReportedAccount: SaaS trust and SysdigAwsAccountId empty, so the role trusts
	// the account Custom::SysdigExternalId answers.
	CondUseReportedAccount = "UseReportedSysdigAccount"
	// CondAskSysdig: Custom::SysdigExternalId runs (the external ID or the account is not given).
	CondAskSysdig = "AskSysdig"
)

// Outputs.
const (
	OutTrustedPrincipal = "SysdigTrustedPrincipal"
	OutOnPremSecretArn  = "OnPremCredentialsSecretArn"
	OutOnPremUserName   = "OnPremUserName"
	OutOnPremPolicy     = "OnPremAssumeRolePolicy"
)

// Secret keys of the on-prem credentials secret (the seed's Kubernetes Secret keys).
const (
	OnPremAccessKeyField = "aws.accessKey"
	OnPremSecretKeyField = "aws.secretKey"
)

const principalArnPattern = `^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$`

// onPremParams: OnPremCredentials (with the modes this template offers) and OnPremPrincipalArn.
func (s *templateStack) onPremParams(modes ...string) {
	desc := "On-prem Sysdig only: the AWS principal Sysdig's backend assumes the role as. None (SaaS): the role trusts Sysdig's AWS account. "
	if len(modes) == 3 {
		desc += "CreateUser: the stack creates an IAM user whose access key it stores in a new secret (OnPremCredentialsSecretArn). "
	}
	desc += "ExistingPrincipal: the role trusts OnPremPrincipalArn; no key is created."
	s.param(ParamOnPremCredentials, &awscdk.CfnParameterProps{
		Default:       jsii.String(OnPremNone),
		AllowedValues: jsii.Strings(modes...),
		Description:   jsii.String(desc),
	})
	s.param(ParamOnPremPrincipalArn, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|` + principalArnPattern),
		ConstraintDescription: jsii.String("an IAM role or user ARN"),
		Description:           jsii.String("ExistingPrincipal only: the IAM role or user your on-prem Sysdig backend runs as (an EC2 instance role, an EKS IRSA or Pod Identity role)."),
	})
}

// trustConditions adds the conditions that choose the trusted principal and whether
// Custom::SysdigExternalId runs. withUser: the template offers CreateUser (and asks
// Sysdig for its account; the member template is given it).
func (s *templateStack) trustConditions(withUser bool) {
	mode := s.str(ParamOnPremCredentials)
	s.cond(CondOnPrem, awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremNone))))
	s.rule("OnPremPrincipalArnWithExistingPrincipal", "OnPremPrincipalArn is required when OnPremCredentials is ExistingPrincipal and must be empty otherwise.",
		awscdk.Fn_ConditionOr(
			awscdk.Fn_ConditionAnd(awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremExistingPrincipal)), notEmpty(s.str(ParamOnPremPrincipalArn))),
			awscdk.Fn_ConditionAnd(awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremExistingPrincipal))), empty(s.str(ParamOnPremPrincipalArn))),
		))
	if !withUser {
		s.rule("SysdigAwsAccountIdUnlessOnPrem", "SysdigAwsAccountId is required unless OnPremCredentials is ExistingPrincipal (the deployer stack passes it).",
			awscdk.Fn_ConditionOr(awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremNone))), notEmpty(s.str(ParamSysdigAwsAccountID))))
		return
	}
	// Sysdig SaaS assumes roles only from its own account: an on-prem principal is for an
	// on-prem tenant, which is always reached at its own URL.
	s.rule("OnPremCredentialsOnlyForCustomRegion", "OnPremCredentials CreateUser or ExistingPrincipal is for on-prem Sysdig: set SysdigRegion to custom and SysdigCustomUrl.",
		awscdk.Fn_ConditionOr(awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremNone)),
			awscdk.Fn_ConditionEquals(s.str(ParamSysdigRegion), jsii.String(CustomEndpointKey))))
	s.cond(CondUseReportedAccount, awscdk.Fn_ConditionAnd(
		awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremNone)), empty(s.str(ParamSysdigAwsAccountID))))
	s.cond(CondCreateOnPremUser, awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremCreateUser)))
	// The ARN of a principal of this account without a path is exactly
	// arn:<partition>:iam::<this account>:<kind>/<second "/"-field>; the appended "/"
	// keeps Fn::Select in range for any value.
	name := awscdk.Fn_Select(jsii.Number(1), awscdk.Fn_Split(jsii.String("/"),
		awscdk.Fn_Join(jsii.String(""), &[]*string{s.str(ParamOnPremPrincipalArn), jsii.String("/")}), nil))
	here := func(kind string) awscdk.ICfnConditionExpression {
		return awscdk.Fn_ConditionAnd(
			awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremExistingPrincipal)),
			awscdk.Fn_ConditionEquals(s.str(ParamOnPremPrincipalArn), awscdk.Fn_Join(jsii.String(""), &[]*string{
				jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":iam::"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":" + kind + "/"), name,
			})))
	}
	s.cond(CondAttachToRole, here("role"))
	s.cond(CondAttachToUser, here("user"))
	s.cond(CondAttachOnPremPolicy, awscdk.Fn_ConditionOr(s.Conditions[CondCreateOnPremUser], s.Conditions[CondAttachToRole], s.Conditions[CondAttachToUser]))
	s.cond(CondPrintOnPremPolicy, awscdk.Fn_ConditionAnd(
		awscdk.Fn_ConditionEquals(mode, jsii.String(OnPremExistingPrincipal)),
		awscdk.Fn_ConditionNot(s.Conditions[CondAttachOnPremPolicy])))
}

// askSysdigCondition: Custom::SysdigExternalId runs when the external ID is not given or
// the account must come from Sysdig.
func (s *templateStack) askSysdigCondition() {
	s.cond(CondAskSysdig, awscdk.Fn_ConditionOr(s.Conditions[CondFetchExternalID], s.Conditions[CondUseReportedAccount]))
}

// rootArn is arn:<partition>:iam::<account>:root.
func rootArn(account *string) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":iam::"), account, jsii.String(":root")})
}

// sysdigAccountInUse is the account the role trusts in SaaS mode: the one Sysdig answers
// when SysdigAwsAccountId is empty, else the parameter (checked against Sysdig's).
func (s *templateStack) sysdigAccountInUse(ext *SysdigExternalID) *string {
	return s.ifCond(CondUseReportedAccount, ext.SysdigAwsAccountID(), s.str(ParamSysdigAwsAccountID))
}

// externalIDProps are Custom::SysdigExternalId's properties that choose the account.
func (s *templateStack) externalIDProps(common CommonProps) *ExternalIDProps {
	common.Condition = s.Conditions[CondAskSysdig]
	return &ExternalIDProps{
		CommonProps:        common,
		SysdigRegion:       s.str(ParamSysdigRegion),
		SysdigAwsAccountId: s.str(ParamSysdigAwsAccountID),
		OnPremCredentials:  s.str(ParamOnPremCredentials),
	}
}

// OnPremAccess is the on-prem principal's side: the user, its key and the key's secret
// (CreateUser), and the AssumeRole policy attached to the principal when the stack can.
type OnPremAccess struct {
	// Group holds the user (CreateUser); the AssumeRole policy is the group's, not the
	// user's (AWS Control Tower's CT.IAM.PR.4: no policy attached to a user).
	Group     awsiam.CfnGroup
	User      awsiam.CfnUser
	AccessKey awsiam.CfnAccessKey
	Secret    awssecretsmanager.CfnSecret
	Policy    awsiam.CfnPolicy
	// PrincipalArn is the on-prem principal: the created user's ARN or OnPremPrincipalArn.
	PrincipalArn *string
	// PolicyJSON is the AssumeRole policy as a JSON string (the output when not attached).
	PolicyJSON *string
	// Ready references the conditional policy and secret (through Fn::If): the
	// registration depends on it, so Sysdig's on-prem backend can assume the role with
	// its key as soon as the role is registered. (A DependsOn naming a resource whose
	// condition is false would make CloudFormation reject the template.)
	Ready awscdk.CfnWaitConditionHandle
}

// onPremUserProps: how the user is made.
type onPremUserProps struct {
	// Path and Boundary are the role's (the user gets the same).
	Path, Boundary *string
	// KmsKey encrypts the credentials secret (nil or AWS::NoValue: aws/secretsmanager).
	KmsKey *string
}

// onPremUser creates the CreateUser resources (trustConditions(true) first); the role's
// trust then names PrincipalArn, and onPremPolicy the role.
func (s *templateStack) onPremUser(p onPremUserProps) *OnPremAccess {
	a := &OnPremAccess{}
	create := s.Conditions[CondCreateOnPremUser]
	a.Group = awsiam.NewCfnGroup(s.Stack, jsii.String("OnPremGroup"), &awsiam.CfnGroupProps{Path: p.Path})
	a.Group.CfnOptions().SetCondition(create)
	a.User = awsiam.NewCfnUser(s.Stack, jsii.String("OnPremUser"), &awsiam.CfnUserProps{
		Path:                p.Path,
		PermissionsBoundary: p.Boundary,
		Groups:              &[]interface{}{a.Group.Ref()},
	})
	a.User.CfnOptions().SetCondition(create)
	a.AccessKey = awsiam.NewCfnAccessKey(s.Stack, jsii.String("OnPremAccessKey"), &awsiam.CfnAccessKeyProps{UserName: a.User.Ref()})
	a.AccessKey.CfnOptions().SetCondition(create)
	// The secret key goes from the key's attribute straight into the secret: it is in no
	// parameter, output or log, and the template holds only the reference.
	a.Secret = awssecretsmanager.NewCfnSecret(s.Stack, jsii.String("OnPremCredentialsSecret"), &awssecretsmanager.CfnSecretProps{
		Description: jsii.String("AWS access key of the on-prem Sysdig backend (sysdig-aws-connect): JSON {\"" + OnPremAccessKeyField + "\",\"" + OnPremSecretKeyField + "\"}."),
		SecretString: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String(`{"` + OnPremAccessKeyField + `":"`), a.AccessKey.Ref(),
			jsii.String(`","` + OnPremSecretKeyField + `":"`), a.AccessKey.AttrSecretAccessKey(), jsii.String(`"}`),
		}),
		KmsKeyId: p.KmsKey,
	})
	a.Secret.CfnOptions().SetCondition(create)
	suppress(a.Secret, "AwsSolutions-SMG4", reasonOnPremKey)
	a.PrincipalArn = s.ifCond(CondCreateOnPremUser, a.User.AttrArn(), s.str(ParamOnPremPrincipalArn))
	return a
}

// onPremPolicy allows the on-prem principal sts:AssumeRole on roleResource: the role's
// ARN (one account) or an ARN pattern of the role in every account with condition
// (Organizations). Attached when the stack can, else a.PolicyJSON is the output.
func (s *templateStack) onPremPolicy(a *OnPremAccess, roleResource *string, condition map[string]interface{}) {
	statement := map[string]interface{}{"Sid": "AssumeTheSysdigRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roleResource}
	if condition != nil {
		statement["Condition"] = condition
	}
	name := awscdk.Fn_Select(jsii.Number(1), awscdk.Fn_Split(jsii.String("/"), s.str(ParamOnPremPrincipalArn), nil))
	a.Policy = awsiam.NewCfnPolicy(s.Stack, jsii.String("OnPremAssumeRole"), &awsiam.CfnPolicyProps{
		PolicyName:     jsii.String("sysdig_onprem_assume_role"),
		PolicyDocument: map[string]interface{}{"Version": "2012-10-17", "Statement": []interface{}{statement}},
		Groups:         awscdk.Token_AsList(awscdk.Fn_ConditionIf(jsii.String(CondCreateOnPremUser), []interface{}{a.Group.Ref()}, awscdk.Aws_NO_VALUE()), nil),
		Users:          awscdk.Token_AsList(awscdk.Fn_ConditionIf(jsii.String(CondAttachToUser), []interface{}{name}, awscdk.Aws_NO_VALUE()), nil),
		Roles:          awscdk.Token_AsList(awscdk.Fn_ConditionIf(jsii.String(CondAttachToRole), []interface{}{name}, awscdk.Aws_NO_VALUE()), nil),
	})
	a.Policy.CfnOptions().SetCondition(s.Conditions[CondAttachOnPremPolicy])
	a.PolicyJSON = s.Stack.ToJsonString(map[string]interface{}{"Version": "2012-10-17", "Statement": []interface{}{statement}}, nil)
	a.Ready = awscdk.NewCfnWaitConditionHandle(s.Stack, jsii.String("OnPremReady"), &awscdk.CfnWaitConditionHandleProps{})
	a.Ready.CfnOptions().SetMetadata(&map[string]interface{}{"OnPremAccess": map[string]interface{}{
		"AssumeRolePolicy":  awscdk.Fn_ConditionIf(jsii.String(CondAttachOnPremPolicy), a.Policy.Ref(), jsii.String("")),
		"CredentialsSecret": awscdk.Fn_ConditionIf(jsii.String(CondCreateOnPremUser), a.Secret.Ref(), jsii.String("")),
	}})
}
