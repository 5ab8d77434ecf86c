package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The custom resource types and the property names the Lambda reads (pinned by the
// lead; every value reaches the Lambda as a string).
const (
	ExternalIDResourceType = "Custom::SysdigExternalId"
	ProviderResourceType   = "Custom::SysdigProvider"
)

// Timeouts. The function stops its own work a safety margin before its deadline and
// always answers CloudFormation (FAILED on timeout), so its answer arrives before
// FunctionTimeout. An asynchronous event may also wait in Lambda's queue (a throttle, a
// retried crash) for up to its MaxEventAge before it runs. ServiceTimeout, how long
// CloudFormation waits, must cover all three: MaxEventAge + FunctionTimeout + the time
// the answer takes to arrive (AnswerDeliverySeconds). A longer wait only delays a failure
// that has already happened (the default is 3600 s, the hour-long hang the design notes
// warn about).
//
// (Constants, not Durations: a package-level jsii value would start the jsii runtime
// during package initialisation, before UseProjectNode can choose Node.)
const (
	FunctionTimeoutSeconds = 300
	AnswerDeliverySeconds  = 60
	// DefaultMaxEventAgeSeconds is Lambda's minimum: a crashed invocation is retried at
	// once or not at all.
	DefaultMaxEventAgeSeconds    = 60
	DefaultServiceTimeoutSeconds = DefaultMaxEventAgeSeconds + FunctionTimeoutSeconds + AnswerDeliverySeconds
)

// Organizations: the registrar's reserved concurrency queues a rollout's requests in
// Lambda's asynchronous queue, so a request may wait there long before it runs. Its
// custom resources wait CloudFormation's maximum, and the registrar keeps a queued event
// for as long as its answer can still arrive in time.
const (
	OrgServiceTimeoutSeconds = 3600
	OrgMaxEventAgeSeconds    = OrgServiceTimeoutSeconds - FunctionTimeoutSeconds - AnswerDeliverySeconds
)

func seconds(n float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(n)) }

// CommonProps are the properties both custom resources share.
type CommonProps struct {
	// ServiceToken is the Lambda ARN, or an SNS topic ARN for cross-account use.
	ServiceToken *string
	// SysdigApiUrl is the Sysdig API base URL, e.g. https://app.sysdigcloud.com.
	SysdigApiUrl *string
	// ApiTokenSecretId is the name or ARN of the Secrets Manager secret with the token.
	ApiTokenSecretId *string
	// SkipTlsVerify is "true" or "false" (on-prem with self-signed certificates). Optional.
	SkipTlsVerify *string
	// ServiceTimeout defaults to DefaultServiceTimeoutSeconds.
	ServiceTimeout awscdk.Duration
	// Condition, when set, creates the resource only when it holds.
	Condition awscdk.CfnCondition
}

func (p *CommonProps) properties() map[string]interface{} {
	m := map[string]interface{}{
		"SysdigApiUrl":     p.SysdigApiUrl,
		"ApiTokenSecretId": p.ApiTokenSecretId,
	}
	putOptional(m, "SkipTlsVerify", p.SkipTlsVerify)
	return m
}

func (p *CommonProps) serviceTimeout() awscdk.Duration {
	if p.ServiceTimeout != nil {
		return p.ServiceTimeout
	}
	return seconds(DefaultServiceTimeoutSeconds)
}

func putOptional(m map[string]interface{}, key string, v *string) {
	if v != nil {
		m[key] = v
	}
}

// SysdigExternalID is Custom::SysdigExternalId: it asks Sysdig for the customer's
// external ID (and, where Sysdig answers it, Sysdig's AWS account id for the region).
type SysdigExternalID struct {
	constructs.Construct
	Resource awscdk.CustomResource
}

// ExternalIDProps configures Custom::SysdigExternalId. The three optional values let it
// choose the AWS account the role trusts (Data.SysdigAwsAccountId) and fail before the
// role exists when that account is wrong or unknown; nil values are not sent.
type ExternalIDProps struct {
	CommonProps
	// SysdigRegion is the stack's SysdigRegion (us1 falls back to Sysdig's documented
	// account when the tenant does not report one; no other region does).
	SysdigRegion *string
	// SysdigAwsAccountId is the account given (empty: the one Sysdig reports); a
	// different reported one fails.
	SysdigAwsAccountId *string
	// OnPremCredentials other than None: the role trusts an on-prem principal, the
	// account is only reported.
	OnPremCredentials *string
}

// NewSysdigExternalID creates Custom::SysdigExternalId.
func NewSysdigExternalID(scope constructs.Construct, id string, props *ExternalIDProps) *SysdigExternalID {
	c := constructs.NewConstruct(scope, jsii.String(id))
	properties := props.properties()
	putOptional(properties, "SysdigRegion", props.SysdigRegion)
	putOptional(properties, "SysdigAwsAccountId", props.SysdigAwsAccountId)
	putOptional(properties, "OnPremCredentials", props.OnPremCredentials)
	res := awscdk.NewCustomResource(c, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken:   props.ServiceToken,
		ResourceType:   jsii.String(ExternalIDResourceType),
		Properties:     &properties,
		ServiceTimeout: props.serviceTimeout(),
	})
	if props.Condition != nil {
		SetCondition(res, props.Condition)
	}
	return &SysdigExternalID{Construct: c, Resource: res}
}

// ExternalID is Data.ExternalId.
func (e *SysdigExternalID) ExternalID() *string {
	return e.Resource.GetAttString(jsii.String("ExternalId"))
}

// SysdigAwsAccountID is Data.SysdigAwsAccountId.
func (e *SysdigExternalID) SysdigAwsAccountID() *string {
	return e.Resource.GetAttString(jsii.String("SysdigAwsAccountId"))
}

// SysdigProviderProps configures Custom::SysdigProvider. Optional values left nil are
// not sent (the Lambda applies its defaults).
type SysdigProviderProps struct {
	CommonProps
	RoleArn *string
	// Alias defaults to role_delegation in the Lambda.
	Alias *string
	// Regions is a comma-separated list of AWS region codes; empty means all regions.
	Regions *string
	// OnExisting is Fail or Adopt; DeregisterOnDelete is true or false; ProviderApi v1 or v2.
	OnExisting         *string
	DeregisterOnDelete *string
	ProviderApi        *string
	// DependsOn lists what must exist before the registration, typically
	// SysdigRole.Dependables() (the role and its policies).
	DependsOn []constructs.IConstruct
}

// SysdigProvider is Custom::SysdigProvider: it registers the role with Sysdig
// ("Add the AWS Account") and deregisters what it registered on delete.
type SysdigProvider struct {
	constructs.Construct
	Resource awscdk.CustomResource
}

// NewSysdigProvider creates Custom::SysdigProvider.
func NewSysdigProvider(scope constructs.Construct, id string, props *SysdigProviderProps) *SysdigProvider {
	c := constructs.NewConstruct(scope, jsii.String(id))
	properties := props.properties()
	properties["RoleArn"] = props.RoleArn
	putOptional(properties, "Alias", props.Alias)
	putOptional(properties, "Regions", props.Regions)
	putOptional(properties, "OnExisting", props.OnExisting)
	putOptional(properties, "DeregisterOnDelete", props.DeregisterOnDelete)
	putOptional(properties, "ProviderApi", props.ProviderApi)
	res := awscdk.NewCustomResource(c, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken:   props.ServiceToken,
		ResourceType:   jsii.String(ProviderResourceType),
		Properties:     &properties,
		ServiceTimeout: props.serviceTimeout(),
	})
	for _, d := range props.DependsOn {
		res.Node().AddDependency(d)
	}
	if props.Condition != nil {
		SetCondition(res, props.Condition)
	}
	return &SysdigProvider{Construct: c, Resource: res}
}

// ProviderID is Data.ProviderId, Status Data.Status and Alias Data.Alias.
func (p *SysdigProvider) ProviderID() *string {
	return p.Resource.GetAttString(jsii.String("ProviderId"))
}

// Status is Data.Status.
func (p *SysdigProvider) Status() *string { return p.Resource.GetAttString(jsii.String("Status")) }

// Alias is Data.Alias.
func (p *SysdigProvider) Alias() *string { return p.Resource.GetAttString(jsii.String("Alias")) }

// The function's environment variables that bound what a request may name: the Sysdig
// URL and the secret the stack chose, and whether it chose to skip TLS verification.
const (
	EnvAllowedAPIURLs     = "ALLOWED_SYSDIG_API_URLS"
	EnvAllowedSecretIDs   = "ALLOWED_TOKEN_SECRET_IDS"
	EnvAllowSkipTLSVerify = "ALLOW_SKIP_TLS_VERIFY"
	// EnvConcurrentInstances is how many instances of the function may run at once: they
	// share Sysdig's rate limit, each pacing to its part (1 in the single-account stack,
	// the reserved concurrency in the Organizations deployer).
	EnvConcurrentInstances = "CONCURRENT_INSTANCES"
)

// The registrar's environment variables that authenticate requests through its topic
// (lambda/main.go, internal/stackauth): the StackSet whose instances may ask, how this
// account administers it (CallAs), and the deployer's own stack id.
const (
	EnvStackSetName    = "STACKSET_NAME"
	EnvStackSetCallAs  = "STACKSET_CALL_AS"
	EnvDeployerStackID = "DEPLOYER_STACK_ID"
)
