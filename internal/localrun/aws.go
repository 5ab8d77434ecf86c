package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/localaws"
)

// StartIAM starts the IAM stand-in for this world (the stack's role, the on-prem user
// and its key land there, and the CLI reads them back); Close stops it.
func (e *Env) StartIAM() (iam *localaws.IAM, url string) {
	iam = localaws.NewIAM(AccountID)
	url, stop := iam.Start()
	e.closers = append(e.closers, stop)
	return iam, url
}

// AWSProvisioners make a simulated stack create its IAM role, IAM user and access key in
// iam and its Secrets Manager secrets in the local Secrets Manager, so what the templates
// create can be read back with the real clients (sysdig-connect check, onprem k8s-secret).
func (e *Env) AWSProvisioners(iam *localaws.IAM) []cfnsim.Option {
	str := func(props map[string]any, k string) string { s, _ := props[k].(string); return s }
	list := func(v any) []any { l, _ := v.([]any); return l }
	return []cfnsim.Option{
		cfnsim.WithProvisioner("AWS::IAM::Role", func(_ context.Context, st *cfnsim.Stack, logical string, props map[string]any) (string, map[string]any, error) {
			name := str(props, "RoleName")
			if name == "" {
				name = st.Pseudo().StackName + "-" + logical
			}
			trust, err := json.Marshal(props["AssumeRolePolicyDocument"])
			if err != nil {
				return "", nil, err
			}
			r, err := iam.CreateRole(name, str(props, "Path"), string(trust))
			if err != nil {
				return "", nil, fmt.Errorf("IAM CreateRole: %w", err)
			}
			for _, t := range list(props["Tags"]) {
				tag, _ := t.(map[string]any)
				if err := iam.TagRole(name, localaws.IAMTag{Key: str(tag, "Key"), Value: str(tag, "Value")}); err != nil {
					return "", nil, fmt.Errorf("IAM TagRole: %w", err)
				}
			}
			return name, map[string]any{"Arn": r.Arn, "RoleId": r.RoleID}, nil
		}),
		// A policy of roles is put on each (sysdig-connect check reads them); policies of
		// users and groups stay simulated.
		cfnsim.WithProvisioner("AWS::IAM::Policy", func(_ context.Context, st *cfnsim.Stack, logical string, props map[string]any) (string, map[string]any, error) {
			doc, err := json.Marshal(props["PolicyDocument"])
			if err != nil {
				return "", nil, err
			}
			name := str(props, "PolicyName")
			for _, r := range list(props["Roles"]) {
				role, _ := r.(string)
				// A role this world does not hold (an existing on-prem principal the test
				// never created) keeps the policy simulated.
				var qe *localaws.QueryError
				if err := iam.PutRolePolicy(role, name, string(doc)); err != nil && !(errors.As(err, &qe) && qe.Code == "NoSuchEntity") {
					return "", nil, fmt.Errorf("IAM PutRolePolicy: %w", err)
				}
			}
			return st.Pseudo().StackName + "-" + logical, nil, nil
		}),
		cfnsim.WithProvisioner("AWS::IAM::User", func(_ context.Context, st *cfnsim.Stack, logical string, props map[string]any) (string, map[string]any, error) {
			name := str(props, "UserName")
			if name == "" {
				name = st.Pseudo().StackName + "-" + logical
			}
			u, err := iam.CreateUser(name, str(props, "Path"), str(props, "PermissionsBoundary"))
			if err != nil {
				return "", nil, fmt.Errorf("IAM CreateUser: %w", err)
			}
			return name, map[string]any{"Arn": u.Arn}, nil
		}),
		cfnsim.WithProvisioner("AWS::IAM::AccessKey", func(_ context.Context, _ *cfnsim.Stack, _ string, props map[string]any) (string, map[string]any, error) {
			k, err := iam.CreateAccessKey(str(props, "UserName"))
			if err != nil {
				return "", nil, fmt.Errorf("IAM CreateAccessKey: %w", err)
			}
			return k.AccessKeyID, map[string]any{"SecretAccessKey": k.SecretAccessKey}, nil
		}),
		cfnsim.WithProvisioner("AWS::SecretsManager::Secret", func(_ context.Context, st *cfnsim.Stack, logical string, props map[string]any) (string, map[string]any, error) {
			name := str(props, "Name")
			if name == "" {
				name = st.Pseudo().StackName + "-" + logical
			}
			arn := e.Secrets.PutSecret(name, str(props, "SecretString"))
			return arn, map[string]any{"Id": arn}, nil
		}),
	}
}
