package cfnsim

import (
	"context"
	"fmt"
	"strings"
)

// defaultProvisioners give the resource types the project's templates use plausible
// physical ids and the attributes their references read.
var defaultProvisioners = map[string]Provisioner{
	"AWS::IAM::Role": func(_ context.Context, st *Stack, logical string, props map[string]any) (string, map[string]any, error) {
		name := stringProp(props, "RoleName", generatedName(st, logical, 64))
		path := stringProp(props, "Path", "/")
		p := st.pseudo
		arn := fmt.Sprintf("arn:%s:iam::%s:role%s%s", p.Partition, p.AccountID, path, name)
		return name, map[string]any{"Arn": arn, "RoleId": "AROA" + strings.ToUpper(newID()[:16])}, nil
	},
	"AWS::Lambda::Function": func(_ context.Context, st *Stack, logical string, props map[string]any) (string, map[string]any, error) {
		name := stringProp(props, "FunctionName", generatedName(st, logical, 64))
		p := st.pseudo
		return name, map[string]any{"Arn": fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", p.Partition, p.Region, p.AccountID, name)}, nil
	},
	"AWS::SecretsManager::Secret": func(_ context.Context, st *Stack, logical string, props map[string]any) (string, map[string]any, error) {
		name := stringProp(props, "Name", generatedName(st, logical, 128))
		p := st.pseudo
		arn := fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s-%s", p.Partition, p.Region, p.AccountID, name, newID()[:6])
		return arn, map[string]any{"Id": arn}, nil
	},
	"AWS::SNS::Topic": func(_ context.Context, st *Stack, logical string, props map[string]any) (string, map[string]any, error) {
		name := stringProp(props, "TopicName", generatedName(st, logical, 256))
		p := st.pseudo
		arn := fmt.Sprintf("arn:%s:sns:%s:%s:%s", p.Partition, p.Region, p.AccountID, name)
		return arn, map[string]any{"TopicArn": arn, "TopicName": name}, nil
	},
	"AWS::S3::Bucket": func(_ context.Context, st *Stack, logical string, props map[string]any) (string, map[string]any, error) {
		name := stringProp(props, "BucketName", strings.ToLower(generatedName(st, logical, 63)))
		return name, map[string]any{"Arn": fmt.Sprintf("arn:%s:s3:::%s", st.pseudo.Partition, name), "DomainName": name + ".s3.amazonaws.com"}, nil
	},
}

// genericProvisioner serves every other type: a generated physical id, and an Arn.
func genericProvisioner(_ context.Context, st *Stack, logical string, _ map[string]any) (string, map[string]any, error) {
	name := generatedName(st, logical, 128)
	p := st.pseudo
	return name, map[string]any{"Arn": fmt.Sprintf("arn:%s:cloudformation-sim:%s:%s:%s", p.Partition, p.Region, p.AccountID, name)}, nil
}

func stringProp(props map[string]any, key, def string) string {
	if s, ok := props[key].(string); ok && s != "" {
		return s
	}
	return def
}

func generatedName(st *Stack, logical string, maxLen int) string {
	name := st.pseudo.StackName + "-" + logical + "-" + strings.ToUpper(newID()[:12])
	if len(name) > maxLen {
		name = name[len(name)-maxLen:]
	}
	return name
}
