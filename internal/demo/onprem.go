package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/onprem"
	"sysdig-aws-connect/internal/operator"
	"sysdig-aws-connect/internal/sysdigemu"
)

// RunOnPrem is `make demo-onprem`: the single-account template with OnPremCredentials
// CreateUser against an on-prem tenant (one that does not report Sysdig's AWS account),
// then the CLI: check the trust, rotate the key in two steps, and print the Kubernetes
// manifest (the secret key masked).
func RunOnPrem(ctx context.Context, cfg Config) error {
	raw, err := os.ReadFile(cfg.TemplatePath)
	if err != nil {
		return fmt.Errorf("read the template: %w", err)
	}
	tpl, err := cfnsim.ParseTemplate(raw)
	if err != nil {
		return err
	}
	// The narrative folds at MaxColumns; the manifest at the end is printed as it is, since
	// a folded YAML line would no longer paste.
	wrapped := newWrapWriter(cfg.Out, MaxColumns)
	defer wrapped.Flush()
	p := printer{w: wrapped}
	env, err := localrun.Start(ctx, localrun.Options{Bootstrap: cfg.Bootstrap, RIE: cfg.RIE, FunctionTimeout: functionTimeout(tpl),
		Sysdig: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}})
	if err != nil {
		return err
	}
	defer env.Close()
	iamSrv, iamURL := env.StartIAM()
	stsSrv := localaws.NewSTS(localrun.AccountID, "arn:aws:sts::"+localrun.AccountID+":assumed-role/Admin/demo")
	stsURL, stopSTS := stsSrv.Start()
	defer stopSTS()
	start := time.Now()

	p.title("sysdig-aws-connect: on-prem Sysdig, locally (OnPremCredentials=CreateUser)")
	p.kv("template", cfg.TemplatePath)
	p.kv("Sysdig API", env.SysdigURL+" (the emulator as an on-prem tenant: no awsCloudInformation)")
	p.kv("IAM", iamURL+" (query protocol stand-in: the role, the user and its keys land here)")
	p.kv("Secrets Manager", env.SecretsURL)

	stack := env.NewStack(tpl, cfg.StackName, append(env.AWSProvisioners(iamSrv), cfnsim.WithEventHook(p.event))...)
	params := map[string]string{
		"SysdigRegion": "custom", "SysdigCustomUrl": env.SysdigURL, "ApiTokenSecret": localrun.SecretName,
		"ProviderAlias": "onprem-demo", "OnPremCredentials": "CreateUser",
	}
	const n = 5
	p.step(1, n, "create the stack: user, access key, secret, role trusting the user, registration", params)
	if err := stack.Create(ctx, params); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	out, err := stack.Outputs()
	if err != nil {
		return err
	}
	p.outputs(out)
	user, secretARN := out["OnPremUserName"], out["OnPremCredentialsSecretArn"]
	userARN := "arn:aws:iam::" + localrun.AccountID + ":user/" + user
	trust, err := roleTrust(ctx, iamURL, "sysdig-role")
	if err != nil {
		return err
	}
	p.kv("role trust", trust)
	if !strings.Contains(trust, `"AWS":"`+userARN+`"`) || !strings.Contains(trust, sysdigemu.DefaultExternalID) {
		return fmt.Errorf("the role does not trust exactly %s with the external ID: %s", userARN, trust)
	}
	if len(env.Sysdig.Providers()) != 1 {
		return fmt.Errorf("Sysdig holds %d providers, want 1", len(env.Sysdig.Providers()))
	}

	// Everything the CLI prints is kept, to prove at the end that no secret key is in it.
	var printed strings.Builder
	var secretKeys []string
	cli := func(args ...string) (string, error) {
		p.line("  $ sysdig-connect " + strings.Join(args, " "))
		code, stdout, stderr := runCLI(ctx, env, iamURL, stsURL, args...)
		printed.WriteString(stdout + stderr)
		for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
			if l != "" {
				p.line("    " + l)
			}
		}
		if code != 0 {
			return stdout, fmt.Errorf("sysdig-connect %s: exit %d: %s", args[0], code, strings.TrimSpace(stderr))
		}
		return stdout, nil
	}
	p.step(2, n, "sysdig-connect check: the role's trust read back with iam:GetRole", nil)
	report, err := cli("--api-url", env.SysdigURL, "check", "--onprem-principal", userARN)
	p.line(indent(report))
	if err != nil {
		return err
	}

	if secretKeys, err = appendSecretKey(ctx, env, secretARN, secretKeys); err != nil {
		return err
	}
	first := iamSrv.AccessKeyIDs(user)
	p.step(3, n, "sysdig-connect onprem rotate-key: a second key, stored in the secret", nil)
	if _, err := cli("onprem", "rotate-key", "--user", user, "--secret", secretARN, "--namespace", "sysdigcloud", "--mask-secret-key"); err != nil {
		return err
	}
	if keys := iamSrv.AccessKeyIDs(user); len(keys) != 2 || keys[0] != first[0] {
		return fmt.Errorf("after rotate-key the user has keys %v, want the old and a new one", keys)
	}
	p.step(4, n, "the Deployments run with the new key: rotate-key --delete-old", nil)
	msg, err := cli("onprem", "rotate-key", "--user", user, "--secret", secretARN, "--delete-old")
	p.line(indent(msg))
	if err != nil {
		return err
	}
	keys := iamSrv.AccessKeyIDs(user)
	if len(keys) != 1 || keys[0] == first[0] {
		return fmt.Errorf("after --delete-old the user has keys %v", keys)
	}

	p.step(5, n, "sysdig-connect onprem k8s-secret: the Kubernetes manifest (secret key masked here)", nil)
	manifest, err := cli("onprem", "k8s-secret", "--secret", secretARN, "--namespace", "sysdigcloud", "--mask-secret-key")
	if err != nil {
		return err
	}
	if !strings.Contains(manifest, "aws.accessKey: ") || !strings.Contains(manifest, "name: sysdigcloud-api") {
		return fmt.Errorf("unexpected manifest:\n%s", manifest)
	}
	if leak := leakedSecrets(env); leak != "" {
		return fmt.Errorf("%s", leak)
	}
	if secretKeys, err = appendSecretKey(ctx, env, secretARN, secretKeys); err != nil {
		return err
	}
	for _, k := range secretKeys {
		if strings.Contains(printed.String(), k) {
			return errors.New("the demo printed an access key's secret key")
		}
	}
	p.line("")
	p.line(fmt.Sprintf("On-prem set-up done in %s: the role trusts only user %s with the external ID; its key (%s) is in %s; apply this manifest:",
		time.Since(start).Round(time.Millisecond), user, keys[0], secretARN))
	p.line("")
	if err := wrapped.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(cfg.Out, strings.TrimRight(manifest, "\n"))
	return err
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// roleTrust reads the role's trust policy with the real IAM client.
func roleTrust(ctx context.Context, iamURL, role string) (string, error) {
	c := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(iamURL), Credentials: credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo", ""), RetryMaxAttempts: 1})
	out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		return "", fmt.Errorf("GetRole %s: %w", role, err)
	}
	doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return "", err
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return "", err
	}
	b, _ := json.Marshal(v)
	return string(b), nil
}

// runCLI runs sysdig-connect in-process against the local world.
func runCLI(ctx context.Context, env *localrun.Env, iamURL, stsURL string, args ...string) (int, string, string) {
	creds := credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo", "")
	deps := operator.Deps{
		STS: func(context.Context) (operator.CallerIdentityAPI, error) {
			return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(stsURL), Credentials: creds, RetryMaxAttempts: 1}), nil
		},
		IAM: func(context.Context) (operator.IAMAPI, error) {
			return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(iamURL), Credentials: creds, RetryMaxAttempts: 1}), nil
		},
		Secrets: func(context.Context, string) (operator.SecretsAPI, error) {
			return secretsmanager.New(secretsmanager.Options{Region: localrun.Region, BaseEndpoint: aws.String(env.SecretsURL), Credentials: creds, RetryMaxAttempts: 1}), nil
		},
	}
	var stdout, stderr bytes.Buffer
	code := operator.Run(ctx, args, &stdout, &stderr, func(k string) string {
		if k == operator.TokenEnv {
			return env.Token
		}
		return ""
	}, deps)
	return code, stdout.String(), stderr.String()
}

// appendSecretKey adds the secret key the on-prem secret holds now to keys.
func appendSecretKey(ctx context.Context, env *localrun.Env, secretARN string, keys []string) ([]string, error) {
	client := secretsmanager.New(secretsmanager.Options{Region: localrun.Region, BaseEndpoint: aws.String(env.SecretsURL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo", ""), RetryMaxAttempts: 1})
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)})
	if err != nil {
		return keys, fmt.Errorf("read the on-prem secret: %w", err)
	}
	creds, err := onprem.ParseCredentials(aws.ToString(out.SecretString))
	if err != nil {
		return keys, err
	}
	return append(keys, creds.SecretAccessKey), nil
}
