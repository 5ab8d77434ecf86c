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

// ParamMemberTemplateKey is the deployer's S3 key of the member template, in the same
// bucket as the code (published deployer only).
const ParamMemberTemplateKey = launch.ParamMemberTemplateKey

// memberTemplateKeyParam declares MemberTemplateKey (published deployer).
func (s *templateStack) memberTemplateKeyParam() {
	s.param(ParamMemberTemplateKey, &awscdk.CfnParameterProps{
		Default:               jsii.String(launch.DefaultMemberTemplateKey),
		AllowedPattern:        jsii.String(`^[A-Za-z0-9!_.*'()/-]+\.json$`),
		ConstraintDescription: jsii.String("an S3 key ending in .json"),
		Description:           jsii.String("S3 key of the member template in that bucket (make publish-org uploads it); the StackSet deploys it."),
	})
}

// memberTemplateURL is where the StackSet reads the member template. The template is
// not embedded (TemplateBody): that would take a fifth of the deployer's 51,200 bytes.
//   - Published: https://<CodeBucketPrefix>-<region>.s3.<region>.<suffix>/<MemberTemplateKey>,
//     the object make publish-org uploads beside the code.
//   - cdk deploy: a CDK file asset holding the same bytes as the committed
//     templates/sysdig-aws-connect-member.json, uploaded by cdk deploy.
func (s *OrgStack) memberTemplateURL(props *OrgStackProps) (*string, error) {
	if props.Publishable {
		return awscdk.Fn_Sub(jsii.String("https://${"+ParamCodeBucketPrefix+"}-${AWS::Region}.s3.${AWS::Region}.${AWS::URLSuffix}/${"+ParamMemberTemplateKey+"}"), nil), nil
	}
	tmpl, err := synthesizeTemplate(buildMemberStack)
	if err != nil {
		return nil, fmt.Errorf("stacks: member template: %w", err)
	}
	body, err := EncodeTemplate(tmpl)
	if err != nil {
		return nil, fmt.Errorf("stacks: member template: %w", err)
	}
	dir := props.MemberTemplateDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(filepath.Clean(props.AssetDir)), "member-template")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stacks: member template directory: %w", err)
	}
	path := filepath.Join(dir, filepath.Base(MemberTemplatePath))
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return nil, fmt.Errorf("stacks: write the member template asset: %w", err)
	}
	asset := awss3assets.NewAsset(s.Stack, jsii.String("MemberTemplate"), &awss3assets.AssetProps{Path: jsii.String(path)})
	return asset.HttpUrl(), nil
}

// buildMemberStack builds the member template in a throwaway app.
func buildMemberStack(app awscdk.App) (awscdk.Stack, error) {
	return NewMemberStack(app, MemberStackName, &awscdk.StackProps{}).Stack, nil
}
