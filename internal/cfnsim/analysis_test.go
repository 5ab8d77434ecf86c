package cfnsim

import (
	"errors"
	"strings"
	"testing"
)

func TestAnalysis(t *testing.T) {
	tpl, err := ParseTemplate([]byte(`{
  "Parameters": {"Bucket": {"Type": "String", "Default": ""}, "Token": {"Type": "String"}},
  "Conditions": {"HasBucket": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Bucket"}, ""]}]}},
  "Rules": {"NeedsToken": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Token"}, ""]}]}, "AssertDescription": "give a token"}]}},
  "Resources": {
    "Policy": {"Type": "AWS::IAM::Policy", "Condition": "HasBucket", "Properties": {"Roles": [{"Ref": "Role"}]}},
    "Role": {"Type": "AWS::IAM::Role"},
    "Ready": {"Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": {"P": {"Fn::If": ["HasBucket", {"Ref": "Policy"}, ""]}}},
    "Bad": {"Type": "Custom::X", "DependsOn": ["Policy"], "Properties": {"ServiceToken": "x"}}
  },
  "Outputs": {"PolicyName": {"Condition": "HasBucket", "Value": {"Ref": "Policy"}}}
}`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(tpl, map[string]string{}, Pseudo{AccountID: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var re *RuleError
	if err := a.Rules(); !errors.As(err, &re) || re.Rule != "NeedsToken" {
		t.Fatalf("rules: %v", err)
	}
	have, _ := a.Existing()
	if have["Policy"] || !have["Role"] || !have["Bad"] {
		t.Fatalf("existing %v", have)
	}
	bad, err := a.Unresolved()
	if err != nil || strings.Join(bad, ";") != "Bad DependsOn -> Policy" {
		t.Fatalf("unresolved %v, %v: want only the DependsOn on the absent policy (the Fn::If branch and the conditional output are fine)", bad, err)
	}
	with, _ := Analyze(tpl, map[string]string{"Bucket": "b", "Token": "t"}, Pseudo{})
	if err := with.Rules(); err != nil {
		t.Fatal(err)
	}
	if bad, _ := with.Unresolved(); len(bad) != 0 {
		t.Fatalf("unresolved %v", bad)
	}
	if _, err := Analyze(tpl, map[string]string{"Nope": "x"}, Pseudo{}); err == nil {
		t.Fatal("an unknown parameter was accepted")
	}
}
