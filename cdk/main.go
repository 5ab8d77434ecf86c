// Command cdk is the CDK app (cdk.json runs it) and, with -templates-dir, the generator
// of the committed templates (`make templates`). The app holds two stacks: the
// single-account stack and the AWS Organizations deployer (`cdk deploy SysdigAwsConnectOrg`).
// The constructs live in ./stacks; this file only wires context and flags to them.
//
// Context keys (cdk.json or -c key=value):
//
//	stackName       single-account stack name (default SysdigAwsConnect)
//	orgStackName    Organizations deployer stack name (default SysdigAwsConnectOrg)
//	lambdaAssetDir  directory holding bootstrap (default dist/lambda, built by make build)
//	publishable     "true" synthesizes the standalone variant (code from S3 parameters)
//	tags            JSON object of tags for the stacks and every taggable resource (the
//	                deployer also sets them on its StackSet, so member stacks carry them)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"sysdig-aws-connect/cdk/stacks"
)

func main() {
	templateOut := flag.String("template-out", "", "write the single-account publishable template to this file and exit")
	templatesDir := flag.String("templates-dir", "", "write every committed template into this directory and exit (make templates)")
	flag.Parse()
	if err := run(*templateOut, *templatesDir); err != nil {
		slog.Error("cdk app failed", "err", err)
		os.Exit(1)
	}
}

func run(templateOut, templatesDir string) error {
	defer jsii.Close()
	if templateOut != "" {
		return writeTemplate(stacks.PublishedTemplatePath, templateOut)
	}
	if templatesDir != "" {
		for _, t := range stacks.PublishedTemplates {
			if err := writeTemplate(t.Path, filepath.Join(templatesDir, filepath.Base(t.Path))); err != nil {
				return err
			}
		}
		return nil
	}

	app := awscdk.NewApp(nil)
	name := contextString(app, "stackName", stacks.PublishedStackName)
	tags, err := contextTags(app)
	if err != nil {
		return err
	}
	stack, err := stacks.NewConnectStack(app, name, &stacks.ConnectStackProps{
		StackProps:  awscdk.StackProps{Tags: tagPointers(tags)},
		Publishable: contextString(app, "publishable", "false") == "true",
		AssetDir:    contextString(app, "lambdaAssetDir", "dist/lambda"),
	})
	if err != nil {
		return err
	}
	stacks.ApplyTags(stack.Stack, tags)
	org, err := stacks.NewOrgStack(app, contextString(app, "orgStackName", stacks.OrgStackName), &stacks.OrgStackProps{
		StackProps:  awscdk.StackProps{Tags: tagPointers(tags)},
		Publishable: contextString(app, "publishable", "false") == "true",
		AssetDir:    contextString(app, "lambdaAssetDir", "dist/lambda"),
		Tags:        tags,
	})
	if err != nil {
		return err
	}
	stacks.ApplyTags(org.Stack, tags)
	// cdk synth/deploy print every AwsSolutions finding and fail on an unsuppressed error.
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return nil
}

// writeTemplate renders one committed template into path.
func writeTemplate(name, path string) error {
	b, err := stacks.RenderTemplate(name)
	if err != nil {
		return err
	}
	if len(b) >= stacks.MaxTemplateBodyBytes {
		return fmt.Errorf("%s is %d bytes, CloudFormation's limit is %d", name, len(b), stacks.MaxTemplateBodyBytes)
	}
	slog.Info("wrote template", "path", path, "bytes", len(b))
	return os.WriteFile(path, b, 0o644)
}

func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}

// contextTags reads the tags context: an object in cdk.json, or a JSON string from -c.
func contextTags(app awscdk.App) (map[string]string, error) {
	tags := map[string]string{}
	switch v := app.Node().TryGetContext(jsii.String("tags")).(type) {
	case nil:
	case string:
		if err := json.Unmarshal([]byte(v), &tags); err != nil {
			return nil, fmt.Errorf("context tags: %w", err)
		}
	case map[string]interface{}:
		for k, val := range v {
			s, ok := val.(string)
			if !ok {
				return nil, fmt.Errorf("context tags: value of %q is not a string", k)
			}
			tags[k] = s
		}
	default:
		return nil, fmt.Errorf("context tags: want a JSON object, got %T", v)
	}
	return tags, nil
}

func tagPointers(tags map[string]string) *map[string]*string {
	if len(tags) == 0 {
		return nil
	}
	m := map[string]*string{}
	for k, v := range tags {
		m[k] = jsii.String(v)
	}
	return &m
}
