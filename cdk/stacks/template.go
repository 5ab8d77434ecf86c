package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// PublishedTemplatePath is the committed one-click template, relative to the repository root.
const PublishedTemplatePath = "templates/sysdig-aws-connect.json"

// MaxTemplateBodyBytes is CloudFormation's limit for a template passed in the request
// body; the published template stays under it so it also works without S3.
const MaxTemplateBodyBytes = 51200

// PublishedStackName names the stack inside the generator's throwaway app.
const PublishedStackName = "SysdigAwsConnect"

// PublishedContext is the context of the publishable synthesis: no path metadata, no
// version reporting, so the template carries nothing CDK-specific.
var PublishedContext = map[string]interface{}{
	"aws:cdk:enable-path-metadata": false,
	"aws:cdk:version-reporting":    false,
}

// RenderPublishedTemplate synthesizes the publishable variant of ConnectStack in a
// throwaway app and returns the template as deterministic JSON: the top-level sections
// and the parameters in a fixed order, every other object with sorted keys, two-space
// indentation, and no HTML escaping. `make templates` writes it; a test compares it
// byte for byte with the committed file.
func RenderPublishedTemplate() ([]byte, error) {
	outdir, err := os.MkdirTemp("", "sysdig-cdk-publish-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(outdir)
	ctx := PublishedContext
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:               jsii.String(outdir),
		Context:              &ctx,
		AnalyticsReporting:   jsii.Bool(false),
		StackTraces:          jsii.Bool(false),
		TreeMetadata:         jsii.Bool(false),
		PerformanceReporting: jsii.Bool(false),
	})
	stack, err := NewConnectStack(app, PublishedStackName, &ConnectStackProps{Publishable: true})
	if err != nil {
		return nil, err
	}
	asm := app.Synth(nil)
	tmpl, ok := asm.GetStackArtifact(stack.ArtifactId()).Template().(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("stacks: synthesized template is not an object")
	}
	return EncodeTemplate(tmpl)
}

// sectionOrder is the order CloudFormation's documentation lists template sections in.
var sectionOrder = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Resources", "Outputs"}

// EncodeTemplate writes tmpl as deterministic JSON (see RenderPublishedTemplate).
func EncodeTemplate(tmpl map[string]interface{}) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("{\n")
	seen := map[string]bool{}
	keys := []string{}
	for _, k := range sectionOrder {
		if _, ok := tmpl[k]; ok {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	for k := range tmpl {
		if !seen[k] {
			return nil, fmt.Errorf("stacks: unexpected template section %q", k)
		}
	}
	for i, k := range keys {
		fmt.Fprintf(&buf, "  %q: ", k)
		var err error
		if k == "Parameters" {
			err = encodeParameters(&buf, tmpl[k])
		} else {
			err = encodeValue(&buf, tmpl[k], "  ")
		}
		if err != nil {
			return nil, err
		}
		if i < len(keys)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// encodeParameters writes the parameters in console-group order.
func encodeParameters(buf *bytes.Buffer, v interface{}) error {
	params, ok := v.(map[string]interface{})
	if !ok {
		return fmt.Errorf("stacks: Parameters is not an object")
	}
	order := []string{}
	for _, g := range parameterGroups {
		for _, p := range g.Params {
			if _, ok := params[p]; ok {
				order = append(order, p)
			}
		}
	}
	if len(order) != len(params) {
		return fmt.Errorf("stacks: %d parameters but %d in the console groups", len(params), len(order))
	}
	buf.WriteString("{\n")
	for i, p := range order {
		fmt.Fprintf(buf, "    %q: ", p)
		if err := encodeValue(buf, params[p], "    "); err != nil {
			return err
		}
		if i < len(order)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("  }")
	return nil
}

func encodeValue(buf *bytes.Buffer, v interface{}, prefix string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.WriteString(strings.TrimSuffix(b.String(), "\n"))
	return nil
}
