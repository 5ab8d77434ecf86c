package cfnsim

import (
	"encoding/json"
	"testing"
)

func TestDeployedDecidesConditionsAndKeepsResourceReferences(t *testing.T) {
	tpl, err := ParseTemplate([]byte(`{
  "Parameters": {"Key": {"Type": "String", "Default": ""}, "Subnets": {"Type": "CommaDelimitedList", "Default": ""}, "Days": {"Type": "Number", "Default": "30"}},
  "Conditions": {"HasKey": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Key"}, ""]}]}},
  "Resources": {
    "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": {"Fn::If": ["HasKey", {"Ref": "Key"}, {"Ref": "AWS::NoValue"}]}, "RetentionInDays": {"Ref": "Days"}}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
      "Role": {"Fn::GetAtt": ["Role", "Arn"]},
      "LoggingConfig": {"LogGroup": {"Ref": "Logs"}},
      "VpcConfig": {"Fn::If": ["HasKey", {"SubnetIds": {"Ref": "Subnets"}}, {"Ref": "AWS::NoValue"}]},
      "Name": {"Fn::Join": ["-", [{"Ref": "AWS::Region"}, {"Fn::If": ["HasKey", "k", {"Ref": "Logs"}]}]]}}},
    "Only": {"Type": "AWS::SNS::Topic", "Condition": "HasKey"}
  }}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"defaults", nil, `{"Resources":{"Fn":{"Properties":{"LoggingConfig":{"LogGroup":{"Ref":"Logs"}},"Name":{"Fn::Join":["-",["r",{"Ref":"Logs"}]]},"Role":{"Fn::GetAtt":["Role","Arn"]}},"Type":"AWS::Lambda::Function"},` +
			`"Logs":{"Properties":{"RetentionInDays":30},"Type":"AWS::Logs::LogGroup"}}}`},
		{"hardened", map[string]string{"Key": "arn:k", "Subnets": "s-1,s-2", "Days": "365"}, `{"Resources":{"Fn":{"Properties":{"LoggingConfig":{"LogGroup":{"Ref":"Logs"}},"Name":"r-k","Role":{"Fn::GetAtt":["Role","Arn"]},"VpcConfig":{"SubnetIds":["s-1","s-2"]}},"Type":"AWS::Lambda::Function"},` +
			`"Logs":{"Properties":{"KmsKeyId":"arn:k","RetentionInDays":365},"Type":"AWS::Logs::LogGroup"},"Only":{"Type":"AWS::SNS::Topic"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Analyze(tpl, tt.params, Pseudo{Region: "r"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Deployed()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}
