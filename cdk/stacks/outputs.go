package stacks

// Output names.
const (
	OutRoleArn            = "SysdigRoleArn"
	OutExternalID         = "ExternalIdInUse"
	OutProviderID         = "SysdigProviderId"
	OutProviderStatus     = "SysdigProviderStatus"
	OutProviderAlias      = "SysdigProviderAlias"
	OutTokenSecretArn     = "ApiTokenSecretArn"
	OutCaptureBucket      = "CaptureBucket"
	OutReportedSysdigAcct = "SysdigReportedAwsAccountId"
	OutConnectorLogGroup  = "ConnectorLogGroupName"
)

// interfaceMetadataKey is the template metadata the CloudFormation console reads.
const interfaceMetadataKey = "AWS::CloudFormation::Interface"

func (s *ConnectStack) outputs() {
	s.output(OutRoleArn, "ARN of the role Sysdig assumes (\"Get Role ARN\" in Sysdig's guide).", s.Role.Role.RoleArn(), nil)
	s.output(OutExternalID, "External ID in use (given, or read from Sysdig).", s.externalIDInUse, nil)
	s.output(OutProviderID, "Id of the AWS provider (account registration) in Sysdig.", s.Provider.ProviderID(), nil)
	s.output(OutProviderStatus, "Status Sysdig reported for the registration.", s.Provider.Status(), nil)
	s.output(OutProviderAlias, "Alias of the account in Sysdig.", s.Provider.Alias(), nil)
	s.output(OutTokenSecretArn, "Secret holding the Sysdig API token (for an existing secret given by name: its ARN without the random suffix).", s.secretArnOutput, nil)
	s.output(OutCaptureBucket, "Bucket Sysdig stores captures in.", s.captureBucketName, s.Conditions[CondUseCaptureBucket])
	s.output(OutReportedSysdigAcct, "Sysdig's AWS account id as the custom resource chose it (reported by Sysdig, or given).", s.ExternalID.SysdigAwsAccountID(), s.Conditions[CondAskSysdig])
	s.output(OutTrustedPrincipal, "The principal the role trusts (with the external ID): Sysdig's account root, or the on-prem principal.", s.trusted, nil)
	s.output(OutOnPremSecretArn, "Secret with the on-prem backend's access key (JSON aws.accessKey, aws.secretKey): sysdig-connect onprem k8s-secret --secret <this>.", s.OnPrem.Secret.Ref(), s.Conditions[CondCreateOnPremUser])
	s.output(OutOnPremUserName, "IAM user of the on-prem backend (sysdig-connect onprem rotate-key --user <this>).", s.OnPrem.User.Ref(), s.Conditions[CondCreateOnPremUser])
	s.output(OutOnPremPolicy, "Attach this policy to OnPremPrincipalArn (it is in another account, or has a path).", s.OnPrem.PolicyJSON, s.Conditions[CondPrintOnPremPolicy])
	s.output(OutConnectorLogGroup, "Log group of the connector function (read it when a custom resource fails).", s.Function.LogGroup.LogGroupName(), nil)
	s.permissionsVersionOutput()
}

// connectParameterGroups orders and labels the parameters in the CloudFormation console.
var connectParameterGroups = []parameterGroup{
	{"Sysdig endpoint", []string{ParamSysdigRegion, ParamSysdigCustomURL, ParamSysdigAwsAccountID, ParamSkipTLSVerify}},
	{"Sysdig API token (exactly one of the first two)", []string{ParamAPITokenSecret, ParamAPIToken, ParamAPITokenKmsKeyArn}},
	{"Role delegation", []string{ParamExternalID, ParamRoleName, ParamRolePath, ParamPermissionsBoundaryArn}},
	{"On-prem Sysdig: who assumes the role", []string{ParamOnPremCredentials, ParamOnPremPrincipalArn}},
	{"Sysdig account registration", []string{ParamDiscoveryRegions, ParamProviderAlias, ParamOnExisting, ParamDeregisterOnDelete, ParamProviderAPI}},
	{"Capture storage (sysdig_s3)", []string{ParamCaptureBucketName, ParamCreateCaptureBucket, ParamCaptureRetentionDays}},
	{"Connector function", []string{ParamLogRetentionDays, ParamCodeBucketPrefix, ParamCodeKey, ParamCodeSigningConfigArn}},
	hardeningGroup,
}

// hardeningGroup: the optional hardening and alarm routing (docs/control-tower.md).
var hardeningGroup = parameterGroup{"Hardening and alarms (optional)", []string{ParamLogKmsKeyArn, ParamSubnetIDs, ParamSecurityGroupIDs, ParamAlarmEmail, ParamAlarmTopicArn}}

// parameterLabels are the console labels.
var parameterLabels = map[string]string{
	ParamSysdigRegion:           "Sysdig region",
	ParamSysdigCustomURL:        "Custom Sysdig API URL (on-prem)",
	ParamSysdigAwsAccountID:     "Sysdig AWS account id (empty: as Sysdig reports)",
	ParamOnPremCredentials:      "On-prem credentials",
	ParamOnPremPrincipalArn:     "On-prem principal ARN (ExistingPrincipal)",
	ParamSkipTLSVerify:          "Skip TLS verification",
	ParamAPITokenSecret:         "Existing token secret (name or ARN)",
	ParamAPIToken:               "API token (stored in a new secret)",
	ParamAPITokenKmsKeyArn:      "KMS key of the token secret",
	ParamExternalID:             "External ID (empty: read from Sysdig)",
	ParamRoleName:               "Role name",
	ParamRolePath:               "Role path",
	ParamPermissionsBoundaryArn: "Permissions boundary ARN",
	ParamDiscoveryRegions:       "Resource discovery regions (empty: all)",
	ParamProviderAlias:          "Account alias in Sysdig",
	ParamOnExisting:             "If already registered",
	ParamDeregisterOnDelete:     "Deregister on stack delete",
	ParamProviderAPI:            "Sysdig providers API version",
	ParamCaptureBucketName:      "Capture bucket name",
	ParamCreateCaptureBucket:    "Create the capture bucket",
	ParamCaptureRetentionDays:   "Capture retention (days)",
	ParamLogRetentionDays:       "Function log retention (days)",
	ParamCodeBucketPrefix:       "Code bucket prefix",
	ParamCodeSigningConfigArn:   "Code signing configuration ARN",
	ParamCodeKey:                "Code object key",
	ParamMemberTemplateKey:      "Member template object key",
	ParamOperationsTemplateKey:  "Alarms and dashboard template object key",
	ParamOpsFunctionName:        "Registrar function name",
	ParamOpsDeadLetterQueueName: "Dead-letter queue name",
	ParamOpsAlarmAction:         "Alarm topic ARN",
	ParamOpsStackSetName:        "StackSet name",
	ParamOpsDashboardName:       "Dashboard name",
	ParamLogKmsKeyArn:           "KMS key of the function's logs",
	ParamSubnetIDs:              "Function subnets",
	ParamSecurityGroupIDs:       "Function security groups",
	ParamAlarmEmail:             "Alarm e-mail",
	ParamAlarmTopicArn:          "Alarm SNS topic ARN",
	// Organizations templates.
	ParamProviderAliasPrefix:        "Alias prefix (alias: prefix + account id)",
	ParamRegistrarTopicArn:          "Registrar topic ARN",
	ParamAPITokenSecretArn:          "Token secret ARN (deployer's account)",
	ParamSysdigAPIURL:               "Sysdig API URL",
	ParamOrganizationID:             "Organization id",
	ParamOrganizationalUnitIDs:      "Target OU ids (root id: every account)",
	ParamCallAs:                     "Call StackSets as",
	ParamConnectManagementAccount:   "Connect this account too",
	ParamMaxConcurrentPercentage:    "Max concurrent accounts (%)",
	ParamFailureTolerancePercentage: "Failure tolerance (%)",
	ParamConcurrencyMode:            "Concurrency mode",
	ParamRegionConcurrencyType:      "Region concurrency",
	ParamRegistrarConcurrency:       "Registrar reserved concurrency",
}
