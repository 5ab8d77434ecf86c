package operator

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/tokensource"
)

// CallerIdentityAPI is the part of the STS client whoami needs.
type CallerIdentityAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Deps are the outside services a command uses. Tests point them at stand-ins.
type Deps struct {
	// STS returns the STS client used for GetCallerIdentity.
	STS func(ctx context.Context) (CallerIdentityAPI, error)
	// SecretsManager returns the client that reads --token-secret; region is
	// the region of the secret's ARN, or "" for the configured region.
	SecretsManager func(ctx context.Context, region string) (tokensource.GetSecretValueAPI, error)
	// SysdigOptions are added to every Sysdig client, after the CLI's own.
	SysdigOptions []sysdig.Option
	// Retry is how Sysdig calls are retried; zero means 5 attempts within a few seconds.
	Retry RetryPolicy
	// IAM returns the IAM client (check reads the role; onprem rotate-key manages keys).
	IAM func(ctx context.Context) (IAMAPI, error)
	// Secrets returns a Secrets Manager client that reads and writes (onprem commands);
	// region as for SecretsManager.
	Secrets func(ctx context.Context, region string) (SecretsAPI, error)
	// OrgAWS returns the CloudFormation, Organizations and DynamoDB clients of the org
	// commands; region is --region ("" for the configured one).
	OrgAWS func(ctx context.Context, region string) (OrgClients, error)
	// Terminal reports whether stderr is a terminal (progress lines only then).
	Terminal func() bool
}

// defaultSTSRegion signs GetCallerIdentity when no region is configured; STS
// answers it in every region of the aws partition.
const defaultSTSRegion = "us-east-1"

// DefaultDeps builds the AWS clients from the standard AWS configuration
// (environment, shared config and credentials files, SSO, instance roles).
// Endpoints follow the SDK's standard variables, AWS_ENDPOINT_URL_STS and
// AWS_ENDPOINT_URL_SECRETS_MANAGER (or AWS_ENDPOINT_URL).
func DefaultDeps() Deps {
	return Deps{
		STS: func(ctx context.Context) (CallerIdentityAPI, error) {
			cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logging.Nop{}))
			if err != nil {
				return nil, fmt.Errorf("load AWS configuration: %w", err)
			}
			if cfg.Region == "" {
				cfg.Region = defaultSTSRegion
			}
			return sts.NewFromConfig(cfg), nil
		},
		SecretsManager: func(ctx context.Context, region string) (tokensource.GetSecretValueAPI, error) {
			c, err := defaultSecrets(ctx, region)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
		IAM:      defaultIAM,
		Secrets:  defaultSecrets,
		OrgAWS:   defaultOrgClients,
		Terminal: stderrIsTerminal,
	}
}

// identity is the AWS caller as STS reports it.
type identity struct {
	Account   string `json:"account"`
	ARN       string `json:"arn"`
	UserID    string `json:"userId"`
	Partition string `json:"partition"`
}

var (
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	partitionRE = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	roleNameRE  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathRE  = regexp.MustCompile(`^/([\x21-\x7e]+/)?$`)
)

// callerIdentity asks STS who the caller is.
// more is added to the hint on failure.
func (a *app) callerIdentity(more string) (identity, error) {
	hint := "configure AWS credentials for the account (AWS_PROFILE, aws sso login, or the AWS_* environment variables)" + more
	if a.deps.STS == nil {
		//msg:internal test wiring only: the program always configures the client
		return identity{}, errors.New("no STS client configured")
	}
	api, err := a.deps.STS(a.awsCtx())
	if err != nil {
		return identity{}, &hintError{err: fmt.Errorf("AWS: %w", err), hint: hint}
	}
	out, err := api.GetCallerIdentity(a.awsCtx(), &sts.GetCallerIdentityInput{})
	if err != nil {
		return identity{}, &hintError{err: fmt.Errorf("AWS STS GetCallerIdentity: %w", err), hint: hint}
	}
	id := identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}
	parts := strings.SplitN(id.ARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !partitionRE.MatchString(parts[1]) || !accountRE.MatchString(id.Account) {
		return identity{}, fmt.Errorf("AWS STS GetCallerIdentity answered an unexpected identity (account %q, ARN %q)", clean(id.Account, 40), clean(id.ARN, 200))
	}
	id.Partition = parts[1]
	return id, nil
}

// stackRoleARN is the ARN of the role the stack creates in the caller's account.
func stackRoleARN(id identity, rf roleFlags) (string, error) {
	name, path := rf.RoleName, rf.RolePath
	if !roleNameRE.MatchString(name) {
		return "", usagef("--role-name %q is not an IAM role name: 1 to 64 characters of letters, digits and + = , . @ _ -", clean(name, 80))
	}
	if len(path) > 512 || !rolePathRE.MatchString(path) {
		return "", usagef("--role-path %q is not an IAM path: / or /a/b/ (starts and ends with /)", clean(path, 80))
	}
	arn := fmt.Sprintf("arn:%s:iam::%s:role%s%s", id.Partition, id.Account, path, name)
	if _, err := registrar.ParseRoleARN(arn); err != nil {
		return "", usagef("the role ARN %s built from the caller's account and --role-path/--role-name is not valid: %v", arn, err)
	}
	return arn, nil
}

// roleARN is --role-arn when given, otherwise the ARN of the role the stack
// creates in the caller's account (which needs AWS credentials).
func (a *app) roleARN(explicit string, rf roleFlags) (arn, source string, err error) {
	if explicit = strings.TrimSpace(explicit); explicit != "" {
		if _, err := registrar.ParseRoleARN(explicit); err != nil {
			return "", "", usagef("--role-arn: %v", err)
		}
		return explicit, "--role-arn", nil
	}
	// Check the flags before asking AWS.
	if _, err := stackRoleARN(identity{Partition: "aws", Account: "000000000000"}, rf); err != nil {
		return "", "", err
	}
	id, err := a.callerIdentity(", or pass --role-arn")
	if err != nil {
		return "", "", err
	}
	arn, err = stackRoleARN(id, rf)
	if err != nil {
		return "", "", err
	}
	return arn, "the caller's account " + id.Account, nil
}
