// Command cdk is the CDK app (cdk.json runs it) and, with -template-out, the generator
// of the committed one-click template (`make templates`). The constructs live in
// ./stacks; this file only wires context and flags to them.
//
// Context keys (cdk.json or -c key=value):
//
//	stackName       stack name (default SysdigAwsConnect)
//	lambdaAssetDir  directory holding bootstrap (default dist/lambda, built by make build)
//	publishable     "true" synthesizes the standalone variant (code from S3 parameters)
//	tags            JSON object of tags for the stack and every taggable resource
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"sysdig-aws-connect/cdk/stacks"
)

func main() {
	templateOut := flag.String("template-out", "", "write the publishable template to this file and exit (make templates)")
	flag.Parse()
	if err := run(*templateOut); err != nil {
		slog.Error("cdk app failed", "err", err)
		os.Exit(1)
	}
}

func run(templateOut string) error {
	defer jsii.Close()
	if templateOut != "" {
		b, err := stacks.RenderPublishedTemplate()
		if err != nil {
			return err
		}
		if len(b) >= stacks.MaxTemplateBodyBytes {
			return fmt.Errorf("template is %d bytes, CloudFormation's limit is %d", len(b), stacks.MaxTemplateBodyBytes)
		}
		slog.Info("wrote template", "path", templateOut, "bytes", len(b))
		return os.WriteFile(templateOut, b, 0o644)
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
	// cdk synth/deploy print every AwsSolutions finding and fail on an unsuppressed error.
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return nil
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
