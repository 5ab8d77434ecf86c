package operator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"sysdig-aws-connect/internal/onprem"
)

// IAMAPI is the part of the IAM client the CLI uses.
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	// check compares the role's policies with the current permissions version.
	iam.ListRolePoliciesAPIClient
	iam.ListAttachedRolePoliciesAPIClient
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, opts ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, opts ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error)
	DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, opts ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
}

// SecretsAPI reads and writes a secret's value.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// defaultIAM builds the IAM client from the standard AWS configuration (endpoint:
// AWS_ENDPOINT_URL_IAM). IAM is global; us-east-1 signs when no region is configured.
func defaultIAM(ctx context.Context) (IAMAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logging.Nop{}))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultSTSRegion
	}
	return iam.NewFromConfig(cfg), nil
}

// defaultSecrets is the Secrets Manager client of the standard AWS configuration, in region
// when given. The SDK's own log lines (IMDS fallbacks) would clutter the one-line errors.
func defaultSecrets(ctx context.Context, region string) (SecretsAPI, error) {
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region configured (set AWS_REGION, or give the secret's ARN)")
	}
	return secretsmanager.NewFromConfig(cfg), nil
}

// onpremCmd finishes the seed's "Additional Configuration for On-Prem" on Kubernetes.
type onpremCmd struct {
	K8sSecret onpremK8sSecretCmd `cmd:"" name:"k8s-secret" help:"Print the Kubernetes Secret with the on-prem backend's AWS key (from the stack's secret) and the patches that give it to the sysdigcloud Deployments."`
	RotateKey onpremRotateKeyCmd `cmd:"" name:"rotate-key" help:"Create a second access key for the on-prem user, store it in the secret and print the new manifest; --delete-old later removes the old key."`
}

// manifestFlags choose where the manifest puts things.
type manifestFlags struct {
	Namespace  string            `name:"namespace" placeholder:"NS" help:"Namespace of the Secret and the Deployments (default: kubectl's current namespace)."`
	Name       string            `name:"name" default:"aws-credentials" help:"Name of the Kubernetes Secret."`
	Containers map[string]string `name:"container" placeholder:"DEPLOYMENT=CONTAINER" help:"Container to patch in a Deployment, when not sysdigcloud-collector=collector, sysdigcloud-worker=worker, sysdigcloud-api=api."`
	SecretOnly bool              `name:"secret-only" help:"Print only the Secret, without the Deployment patches (after a rotation, only the Secret is applied again)."`
	// Demos and screenshots: the manifest with the secret key replaced.
	MaskSecretKey bool `name:"mask-secret-key" hidden:"" help:"Write a placeholder instead of the secret key (demos)."`
}

func (f manifestFlags) options() (onprem.ManifestOptions, error) {
	o := onprem.ManifestOptions{Namespace: f.Namespace, Name: f.Name, MaskSecretKey: f.MaskSecretKey, SecretOnly: f.SecretOnly}
	for d := range f.Containers {
		if !slices.ContainsFunc(onprem.DefaultTargets, func(t onprem.Target) bool { return t.Deployment == d }) {
			return o, usagef("--container %s=…: not one of the Deployments Sysdig's guide names (sysdigcloud-collector, sysdigcloud-worker, sysdigcloud-api)", clean(d, 60))
		}
	}
	for _, t := range onprem.DefaultTargets {
		if c, ok := f.Containers[t.Deployment]; ok {
			t.Container = c
		}
		o.Targets = append(o.Targets, t)
	}
	// Check the names before any AWS call.
	for _, t := range o.Targets {
		if _, err := onprem.Patch(t, o); err != nil {
			return o, usagef("%v", err)
		}
	}
	return o, nil
}

type onpremK8sSecretCmd struct {
	Secret string `name:"secret" required:"" placeholder:"NAME_OR_ARN" help:"The secret holding the key (the stack's OnPremCredentialsSecretArn output)."`
	manifestFlags
}

func (c *onpremK8sSecretCmd) Run(a *app) error {
	opts, err := c.options()
	if err != nil {
		return err
	}
	api, err := a.onpremSecrets(c.Secret)
	if err != nil {
		return err
	}
	creds, err := readCredentials(a.ctx, api, c.Secret)
	if err != nil {
		return err
	}
	return a.writeManifest(creds, opts)
}

func (a *app) writeManifest(creds onprem.Credentials, opts onprem.ManifestOptions) error {
	render := onprem.Manifest
	if a.json() {
		render = onprem.ManifestJSON
	}
	b, err := render(creds, opts)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(b)
	return err
}

func (a *app) onpremSecrets(id string) (SecretsAPI, error) {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 2048 {
		return nil, usagef("--secret must name a Secrets Manager secret (name or ARN)")
	}
	if a.deps.Secrets == nil {
		//msg:internal test wiring only: the program always configures the client
		return nil, errors.New("no Secrets Manager client configured")
	}
	api, err := a.deps.Secrets(a.ctx, secretRegion(id))
	if err != nil {
		return nil, &hintError{err: fmt.Errorf("AWS: %w", err), hint: "configure AWS credentials and a region for the account that holds the secret"}
	}
	return api, nil
}

// readCredentials reads and parses the key secret; errors never hold its value.
func readCredentials(ctx context.Context, api SecretsAPI, id string) (onprem.Credentials, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return onprem.Credentials{}, &hintError{err: fmt.Errorf("read secret %s: %w", clean(id, 300), awsErr(err)),
			hint: "give the stack's OnPremCredentialsSecretArn output, with credentials allowed secretsmanager:GetSecretValue on it"}
	}
	if out.SecretString == nil {
		return onprem.Credentials{}, fmt.Errorf("secret %s has no SecretString: it is not the one the stack writes", clean(id, 300))
	}
	creds, err := onprem.ParseCredentials(*out.SecretString)
	if err != nil {
		return onprem.Credentials{}, fmt.Errorf("secret %s: %w", clean(id, 300), err)
	}
	return creds, nil
}

// awsErr keeps an AWS API error to its code and message.
func awsErr(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

type onpremRotateKeyCmd struct {
	User      string `name:"user" required:"" placeholder:"NAME" help:"The on-prem IAM user (the stack's OnPremUserName output)."`
	Secret    string `name:"secret" required:"" placeholder:"ID" help:"The secret holding its key (the stack's OnPremCredentialsSecretArn output)."`
	DeleteOld bool   `name:"delete-old" help:"Second step, after the Deployments run with the new key: delete the user's other keys (never the one in the secret)."`
	manifestFlags
}

func (c *onpremRotateKeyCmd) Run(a *app) error {
	if !roleNameRE.MatchString(c.User) {
		return usagef("--user %q is not an IAM user name (1 to 64 characters of letters, digits and + = , . @ _ -)", clean(c.User, 80))
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	secrets, err := a.onpremSecrets(c.Secret)
	if err != nil {
		return err
	}
	if a.deps.IAM == nil {
		//msg:internal test wiring only: the program always configures the client
		return errors.New("no IAM client configured")
	}
	iamAPI, err := a.deps.IAM(a.ctx)
	if err != nil {
		return &hintError{err: fmt.Errorf("AWS: %w", err), hint: "configure AWS credentials for the account of the user"}
	}
	current, err := readCredentials(a.ctx, secrets, c.Secret)
	if err != nil {
		return err
	}
	keys, err := listKeys(a.ctx, iamAPI, c.User)
	if err != nil {
		return err
	}
	if !slices.Contains(keys, current.AccessKeyID) {
		return &hintError{err: fmt.Errorf("refused: the secret holds access key %s, which is not one of user %s's keys (%s); nothing was changed", current.AccessKeyID, c.User, strings.Join(keys, ", ")),
			hint: "check --user and --secret: they are the stack's OnPremUserName and OnPremCredentialsSecretArn outputs"}
	}
	if c.DeleteOld {
		return c.deleteOld(a, iamAPI, current.AccessKeyID, keys)
	}
	if len(keys) >= 2 {
		return &hintError{err: fmt.Errorf("user %s already has two access keys (IAM's limit): %s", c.User, strings.Join(keys, ", ")),
			hint: fmt.Sprintf("if you rotated before and the Deployments run with the key in the secret (%s), finish with: %s onprem rotate-key --user %s --secret %s --delete-old", current.AccessKeyID, Name, c.User, clean(c.Secret, 300))}
	}
	created, err := iamAPI.CreateAccessKey(a.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(c.User)})
	if err != nil {
		return fmt.Errorf("create an access key for user %s: %w", c.User, awsErr(err))
	}
	next := onprem.Credentials{AccessKeyID: aws.ToString(created.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(created.AccessKey.SecretAccessKey)}
	if _, err := secrets.PutSecretValue(a.ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(c.Secret), SecretString: aws.String(next.SecretJSON())}); err != nil {
		// Do not leave a key nobody holds.
		_, derr := iamAPI.DeleteAccessKey(a.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(c.User), AccessKeyId: aws.String(next.AccessKeyID)})
		undo := "the new key was deleted again"
		if derr != nil {
			undo = fmt.Sprintf("deleting the new key %s failed too (%v): delete it with aws iam delete-access-key", next.AccessKeyID, awsErr(derr))
		}
		return fmt.Errorf("store the new key in secret %s: %w; %s, the secret still holds %s", clean(c.Secret, 300), awsErr(err), undo, current.AccessKeyID)
	}
	if err := a.writeManifest(next, opts); err != nil {
		return err
	}
	ns := ""
	if opts.Namespace != "" {
		ns = " -n " + opts.Namespace
	}
	var deployments []string
	for _, t := range opts.Targets {
		deployments = append(deployments, "deployment/"+t.Deployment)
	}
	fmt.Fprintf(a.stderr, "New access key %s is in secret %s; the old key %s still works.\n"+
		"1. Apply the new Secret (only it: the Deployments already read it; --secret-only prints it alone, for kubectl%s apply -f), then roll the backend: kubectl%s rollout restart %s\n"+
		"2. When the pods run with the new key, delete the old one: %s onprem rotate-key --user %s --secret %s --delete-old\n",
		next.AccessKeyID, clean(c.Secret, 300), current.AccessKeyID, ns, ns, strings.Join(deployments, " "), Name, c.User, clean(c.Secret, 300))
	return nil
}

// deleteOld removes every key of the user but keep (the one in the secret).
func (c *onpremRotateKeyCmd) deleteOld(a *app, api IAMAPI, keep string, keys []string) error {
	var deleted []string
	for _, k := range keys {
		if k == keep {
			continue
		}
		if _, err := api.DeleteAccessKey(a.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(c.User), AccessKeyId: aws.String(k)}); err != nil && apiErrorCode(err) != "NoSuchEntity" {
			return fmt.Errorf("delete old access key %s of user %s: %w (deleted so far: %s)", k, c.User, awsErr(err), orNone(deleted))
		}
		deleted = append(deleted, k)
	}
	if len(deleted) == 0 {
		_, err := fmt.Fprintf(a.stdout, "Nothing to delete: %s, the key in the secret, is user %s's only key.\n", keep, c.User)
		return err
	}
	_, err := fmt.Fprintf(a.stdout, "Deleted old access key(s) %s of user %s; %s (in the secret) remains.\n", strings.Join(deleted, ", "), c.User, keep)
	return err
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// listKeys is the user's access key ids, oldest first.
func listKeys(ctx context.Context, api IAMAPI, user string) ([]string, error) {
	out, err := api.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		if apiErrorCode(err) == "NoSuchEntity" {
			return nil, &hintError{err: fmt.Errorf("IAM user %s does not exist", user), hint: "give the stack's OnPremUserName output as --user"}
		}
		return nil, fmt.Errorf("list the access keys of user %s: %w", user, awsErr(err))
	}
	md := out.AccessKeyMetadata
	sort.SliceStable(md, func(i, j int) bool { return aws.ToTime(md[i].CreateDate).Before(aws.ToTime(md[j].CreateDate)) })
	var ids []string
	for _, k := range md {
		ids = append(ids, aws.ToString(k.AccessKeyId))
	}
	return ids, nil
}
