package stacks

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/cdk/launch"
)

// The deployer's S3 keys of the templates it reads beside the code (published deployer
// only): the StackSet's member template and the nested operations stack.
const (
	ParamMemberTemplateKey     = launch.ParamMemberTemplateKey
	ParamOperationsTemplateKey = launch.ParamOperationsTemplateKey
)

// templateKeyParams declares MemberTemplateKey and OperationsTemplateKey (published deployer).
func (s *templateStack) templateKeyParams() {
	key := func(name, def, what string) {
		s.param(name, &awscdk.CfnParameterProps{
			Default:               jsii.String(def),
			AllowedPattern:        jsii.String(`^[A-Za-z0-9!_.*'()/-]+\.json$`),
			ConstraintDescription: jsii.String("an S3 key ending in .json"),
			Description:           jsii.String("S3 key of the " + what + " template in that bucket (make publish-org uploads it)."),
		})
	}
	key(ParamMemberTemplateKey, launch.DefaultMemberTemplateKey, "StackSet's member")
	key(ParamOperationsTemplateKey, launch.DefaultOperationsTemplateKey, "alarms and dashboard")
}

// nestedTemplate is a template the deployer reads from S3 rather than carrying it (the
// deployer must stay within TemplateBudgetBytes).
type nestedTemplate struct {
	path     string // the committed file (templates/…)
	keyParam string // its key parameter in the published deployer
	assetID  string // the construct id of its CDK asset (cdk deploy)
	build    func(app awscdk.App) (awscdk.Stack, error)
}

var (
	memberNested     = nestedTemplate{MemberTemplatePath, ParamMemberTemplateKey, "MemberTemplate", buildMemberStack}
	operationsNested = nestedTemplate{OperationsTemplatePath, ParamOperationsTemplateKey, "OperationsTemplate", buildOperationsStack}
)

// templateURL is where the deployer reads a nested template:
//   - Published: https://<CodeBucketPrefix>-<region>.s3.<region>.<suffix>/<key parameter>,
//     the object make publish-org uploads beside the code.
//   - cdk deploy: a CDK file asset holding the same bytes as the committed template,
//     uploaded by cdk deploy.
func (s *OrgStack) templateURL(props *OrgStackProps, n nestedTemplate) (*string, error) {
	if props.Publishable {
		return awscdk.Fn_Sub(jsii.String("https://${"+ParamCodeBucketPrefix+"}-${AWS::Region}.s3.${AWS::Region}.${AWS::URLSuffix}/${"+n.keyParam+"}"), nil), nil
	}
	tmpl, err := synthesizeTemplate(n.build)
	if err != nil {
		return nil, fmt.Errorf("stacks: %s: %w", n.path, err)
	}
	body, err := EncodeTemplate(tmpl)
	if err != nil {
		return nil, err
	}
	dir := props.MemberTemplateDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(filepath.Clean(props.AssetDir)), "member-template")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stacks: nested template directory: %w", err)
	}
	path := filepath.Join(dir, filepath.Base(n.path))
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return nil, fmt.Errorf("stacks: write the nested template asset: %w", err)
	}
	asset := awss3assets.NewAsset(s.Stack, jsii.String(n.assetID), &awss3assets.AssetProps{Path: jsii.String(path)})
	return asset.HttpUrl(), nil
}

// buildMemberStack builds the member template in a throwaway app.
func buildMemberStack(app awscdk.App) (awscdk.Stack, error) {
	return NewMemberStack(app, MemberStackName, &awscdk.StackProps{}).Stack, nil
}
