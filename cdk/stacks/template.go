package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// The committed templates, relative to the repository root.
const (
	// PublishedTemplatePath is the single-account one-click template.
	PublishedTemplatePath = "templates/sysdig-aws-connect.json"
	// OrgTemplatePath is the AWS Organizations deployer (its StackSet embeds the member template).
	OrgTemplatePath = "templates/sysdig-aws-connect-org.json"
	// MemberTemplatePath is the StackSet member template, committed on its own so that it
	// can be used from the StackSets console or launched in one account by hand.
	MemberTemplatePath = "templates/sysdig-aws-connect-member.json"
	// OperationsTemplatePath is the deployer's nested stack: the registrar's alarms and
	// dashboard.
	OperationsTemplatePath = "templates/sysdig-aws-connect-operations.json"
)

// MaxTemplateBodyBytes is CloudFormation's limit for a template passed in the request
// body; the published templates stay under it so they also work without S3.
const MaxTemplateBodyBytes = 51200

// TemplateBudgetBytes is what the deployer and the single-account template may take:
// MaxTemplateBodyBytes less 10%, so the next feature still fits.
const TemplateBudgetBytes = 46080

// Stack names inside the generator's throwaway apps (and the cdk app's defaults).
const (
	PublishedStackName  = "SysdigAwsConnect"
	OrgStackName        = "SysdigAwsConnectOrg"
	MemberStackName     = "SysdigAwsConnectMember"
	OperationsStackName = "SysdigAwsConnectOperations"
)

// PublishedContext is the context of the publishable synthesis: no path metadata, no
// version reporting, so the template carries nothing CDK-specific.
var PublishedContext = map[string]interface{}{
	"aws:cdk:enable-path-metadata": false,
	"aws:cdk:version-reporting":    false,
}

// PublishedTemplates lists the committed templates and how each is built, in the order
// `make templates` writes them.
//
// Indent is the template's indentation unit: two spaces for the member template, one
// for the deployer and the single-account template, which must stay within
// TemplateBudgetBytes (just as deterministic, still reviewable line by line).
// MaxDepth keeps the deeply nested intrinsic functions (the trusted principal, the
// on-prem conditions) on one line: the single-account template below 5 levels, the
// deployer below 2 (one line per parameter, condition, resource and output).
// Lean leaves out what CloudFormation does not act on and the deployer cannot afford:
// cdk-nag's suppression records (resource Metadata cdk_nag; only cdk-nag reads them, at
// synthesis, and the CDK code keeps them with their reasons) and the console's parameter
// labels (the console then shows the parameter names, still in their groups, with
// their descriptions).
var PublishedTemplates = []struct {
	Path   string
	Indent string
	// MaxDepth > 0 writes values nested deeper than that on one line (EncodeTemplateDepth).
	MaxDepth int
	Lean     bool
	Build    func(app awscdk.App) (awscdk.Stack, error)
}{
	{PublishedTemplatePath, " ", 5, false, func(app awscdk.App) (awscdk.Stack, error) {
		s, err := NewConnectStack(app, PublishedStackName, &ConnectStackProps{Publishable: true})
		if err != nil {
			return nil, err
		}
		return s.Stack, nil
	}},
	{OrgTemplatePath, " ", 2, true, func(app awscdk.App) (awscdk.Stack, error) {
		s, err := NewOrgStack(app, OrgStackName, &OrgStackProps{Publishable: true})
		if err != nil {
			return nil, err
		}
		return s.Stack, nil
	}},
	{MemberTemplatePath, "  ", 0, false, buildMemberStack},
	{OperationsTemplatePath, "  ", 0, false, buildOperationsStack},
}

// RenderPublishedTemplate renders the single-account one-click template.
func RenderPublishedTemplate() ([]byte, error) { return RenderTemplate(PublishedTemplatePath) }

// RenderTemplate synthesizes the committed template at path (one of PublishedTemplates)
// in a throwaway app and returns it as deterministic JSON: the top-level sections and
// the parameters in a fixed order, every other object with sorted keys, indented (two
// spaces; see PublishedTemplates), and no HTML escaping. `make templates` writes it; a test compares it
// byte for byte with the committed file.
func RenderTemplate(path string) ([]byte, error) {
	for _, t := range PublishedTemplates {
		if t.Path == path {
			tmpl, err := synthesizeTemplate(t.Build)
			if err != nil {
				return nil, err
			}
			if t.Lean {
				leaveOutUnused(tmpl)
			}
			return EncodeTemplateDepth(tmpl, t.Indent, t.MaxDepth)
		}
	}
	return nil, fmt.Errorf("stacks: no published template %s", path)
}

// leaveOutUnused removes cdk-nag's suppression records from the resources' Metadata and
// the console's parameter labels.
func leaveOutUnused(tmpl map[string]interface{}) {
	if md, ok := tmpl["Metadata"].(map[string]interface{}); ok {
		if iface, ok := md[interfaceMetadataKey].(map[string]interface{}); ok {
			delete(iface, "ParameterLabels")
		}
	}
	resources, _ := tmpl["Resources"].(map[string]interface{})
	for _, r := range resources {
		rm, _ := r.(map[string]interface{})
		md, ok := rm["Metadata"].(map[string]interface{})
		if !ok {
			continue
		}
		delete(md, "cdk_nag")
		if len(md) == 0 {
			delete(rm, "Metadata")
		}
	}
}

// synthesizeTemplate builds one stack in a throwaway app with PublishedContext and
// returns its template.
func synthesizeTemplate(build func(app awscdk.App) (awscdk.Stack, error)) (map[string]interface{}, error) {
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
	stack, err := build(app)
	if err != nil {
		return nil, err
	}
	asm := app.Synth(nil)
	tmpl, ok := asm.GetStackArtifact(stack.ArtifactId()).Template().(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("stacks: synthesized template is not an object")
	}
	return tmpl, nil
}

// sectionOrder is the order CloudFormation's documentation lists template sections in.
var sectionOrder = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Resources", "Outputs"}

// EncodeTemplate writes tmpl as deterministic JSON indented by two spaces (see RenderTemplate).
func EncodeTemplate(tmpl map[string]interface{}) ([]byte, error) {
	return EncodeTemplateIndent(tmpl, "  ")
}

// EncodeTemplateIndent writes tmpl as deterministic JSON indented by indent.
func EncodeTemplateIndent(tmpl map[string]interface{}, indent string) ([]byte, error) {
	return EncodeTemplateDepth(tmpl, indent, 0)
}

// EncodeTemplateDepth is EncodeTemplateIndent with values nested deeper than maxDepth
// levels (sections are level 1) written compact on one line; 0 means no limit.
func EncodeTemplateDepth(tmpl map[string]interface{}, indent string, maxDepth int) ([]byte, error) {
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
		fmt.Fprintf(&buf, "%s%q: ", indent, k)
		var err error
		if k == "Parameters" {
			err = encodeParameters(&buf, tmpl[k], consoleOrder(tmpl), indent, maxDepth)
		} else {
			err = encodeValue(&buf, tmpl[k], indent, indent, maxDepth)
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

// consoleOrder lists the parameters in the order of the template's own console groups
// (Metadata AWS::CloudFormation::Interface).
func consoleOrder(tmpl map[string]interface{}) []string {
	md, _ := tmpl["Metadata"].(map[string]interface{})
	iface, _ := md[interfaceMetadataKey].(map[string]interface{})
	groups, _ := iface["ParameterGroups"].([]interface{})
	var order []string
	for _, g := range groups {
		gm, _ := g.(map[string]interface{})
		names, _ := gm["Parameters"].([]interface{})
		for _, n := range names {
			if s, ok := n.(string); ok {
				order = append(order, s)
			}
		}
	}
	return order
}

// encodeParameters writes the parameters in console-group order.
func encodeParameters(buf *bytes.Buffer, v interface{}, order []string, indent string, maxDepth int) error {
	params, ok := v.(map[string]interface{})
	if !ok {
		return fmt.Errorf("stacks: Parameters is not an object")
	}
	seen := map[string]bool{}
	for _, p := range order {
		if _, ok := params[p]; !ok || seen[p] {
			return fmt.Errorf("stacks: console group names %s twice or no such parameter", p)
		}
		seen[p] = true
	}
	if len(order) != len(params) {
		return fmt.Errorf("stacks: %d parameters but %d in the console groups", len(params), len(order))
	}
	buf.WriteString("{\n")
	for i, p := range order {
		fmt.Fprintf(buf, "%s%q: ", indent+indent, p)
		if err := encodeValue(buf, params[p], indent+indent, indent, maxDepth); err != nil {
			return err
		}
		if i < len(order)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString(indent + "}")
	return nil
}

// encodeValue writes v indented; with maxDepth > 0, objects and arrays nested maxDepth
// levels below a section (a resource's property values, past a few levels) go on one
// line: deeply nested intrinsic functions would otherwise take most of the bytes.
func encodeValue(buf *bytes.Buffer, v interface{}, prefix, indent string, maxDepth int) error {
	if maxDepth > 0 {
		return encodeDepth(buf, v, prefix, indent, 1, maxDepth)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, indent)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.WriteString(strings.TrimSuffix(b.String(), "\n"))
	return nil
}

func compact(v interface{}) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func encodeDepth(buf *bytes.Buffer, v interface{}, prefix, indent string, depth, maxDepth int) error {
	switch t := v.(type) {
	case map[string]interface{}:
		if len(t) > 0 && depth < maxDepth {
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			buf.WriteString("{\n")
			for i, k := range keys {
				kb, err := compact(k)
				if err != nil {
					return err
				}
				buf.WriteString(prefix + indent)
				buf.Write(kb)
				buf.WriteString(": ")
				if err := encodeDepth(buf, t[k], prefix+indent, indent, depth+1, maxDepth); err != nil {
					return err
				}
				if i < len(keys)-1 {
					buf.WriteString(",")
				}
				buf.WriteString("\n")
			}
			buf.WriteString(prefix + "}")
			return nil
		}
	case []interface{}:
		if len(t) > 0 && depth < maxDepth {
			buf.WriteString("[\n")
			for i, e := range t {
				buf.WriteString(prefix + indent)
				if err := encodeDepth(buf, e, prefix+indent, indent, depth+1, maxDepth); err != nil {
					return err
				}
				if i < len(t)-1 {
					buf.WriteString(",")
				}
				buf.WriteString("\n")
			}
			buf.WriteString(prefix + "]")
			return nil
		}
	}
	b, err := compact(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}
