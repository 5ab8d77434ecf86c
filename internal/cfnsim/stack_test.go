package cfnsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// memResponder hands out fake URLs and delivers answers through channels.
type memResponder struct {
	mu      sync.Mutex
	answers map[string]chan Answer
}

func newMemResponder() *memResponder { return &memResponder{answers: map[string]chan Answer{}} }

func (m *memResponder) ch(id string) chan Answer {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.answers[id] == nil {
		m.answers[id] = make(chan Answer, 1)
	}
	return m.answers[id]
}

func (m *memResponder) NewURL(id string) string { return "mem://" + id }

func (m *memResponder) Wait(ctx context.Context, id string) (Answer, error) {
	select {
	case a := <-m.ch(id):
		return a, nil
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	}
}

// fakeFunction is a custom resource that records requests and answers by a rule.
type fakeFunction struct {
	responder *memResponder
	mu        sync.Mutex
	requests  []map[string]any
	viaSNS    int
	answer    func(req map[string]any) Answer
}

func (f *fakeFunction) Invoke(_ context.Context, payload []byte) error {
	var req map[string]any
	if err := json.Unmarshal(payload, &req); err != nil {
		return err
	}
	if recs, ok := req["Records"].([]any); ok {
		f.mu.Lock()
		f.viaSNS++
		f.mu.Unlock()
		msg := recs[0].(map[string]any)["Sns"].(map[string]any)["Message"].(string)
		if err := json.Unmarshal([]byte(msg), &req); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	a := f.answer(req)
	a.RequestID = req["RequestId"].(string)
	f.responder.ch(a.RequestID) <- a
	return nil
}

func (f *fakeFunction) summary() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		s := fmt.Sprintf("%s %s", r["RequestType"], r["LogicalResourceId"])
		if id, ok := r["PhysicalResourceId"]; ok {
			s += " " + id.(string)
		}
		out = append(out, s)
	}
	return out
}

const testTemplate = `{
  "Parameters": {
    "Name": {"Type": "String", "Default": "a", "AllowedPattern": "[a-z]+"},
    "Alias": {"Type": "String", "Default": "one", "AllowedValues": ["one", "two", "bad"]},
    "Regions": {"Type": "CommaDelimitedList", "Default": ""},
    "WithExtra": {"Type": "String", "Default": "false"}
  },
  "Mappings": {"Hosts": {"us1": {"Url": "https://app.sysdigcloud.com"}}},
  "Conditions": {"Extra": {"Fn::Equals": [{"Ref": "WithExtra"}, "true"]}},
  "Resources": {
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "x"}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::Sub": "role-${Name}"}, "Path": "/sysdig/"}},
    "Ext": {"Type": "Custom::SysdigExternalId", "Properties": {"ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]},
      "SysdigApiUrl": {"Fn::FindInMap": ["Hosts", "us1", "Url"]}, "ServiceTimeout": 60}},
    "Prov": {"Type": "Custom::SysdigProvider", "DependsOn": "Ext", "Properties": {
      "ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]}, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
      "Alias": {"Ref": "Alias"}, "Regions": {"Ref": "Regions"}, "External": {"Fn::GetAtt": ["Ext", "ExternalId"]},
      "Flag": true, "Skip": {"Fn::If": ["Extra", "yes", {"Ref": "AWS::NoValue"}]}}},
    "Extra": {"Type": "Custom::Thing", "Condition": "Extra", "Properties": {"ServiceToken": "arn:aws:sns:us-east-1:111111111111:topic"}}
  },
  "Outputs": {"Provider": {"Value": {"Ref": "Prov"}}, "Ext": {"Value": {"Fn::GetAtt": ["Ext", "ExternalId"]}},
    "Extra": {"Condition": "Extra", "Value": {"Ref": "Extra"}}}
}`

func newTestStack(t *testing.T, answer func(req map[string]any) Answer) (*Stack, *fakeFunction) {
	t.Helper()
	tpl, err := ParseTemplate([]byte(testTemplate))
	if err != nil {
		t.Fatal(err)
	}
	r := newMemResponder()
	f := &fakeFunction{responder: r, answer: answer}
	st := New(tpl, Pseudo{AccountID: "123456789012", Region: "us-east-1", StackName: "demo"}, f, r, WithMaxWait(5*time.Second))
	return st, f
}

// idByRole answers like a provider: its physical id follows the role and alias stays in place.
func idByRole(req map[string]any) Answer {
	props := req["ResourceProperties"].(map[string]any)
	switch req["ResourceType"] {
	case "Custom::SysdigExternalId":
		return Answer{Status: "SUCCESS", PhysicalResourceID: "ext", Data: map[string]any{"ExternalId": "ext-123"}}
	case "Custom::SysdigProvider":
		if req["RequestType"] == "Delete" {
			return Answer{Status: "SUCCESS", PhysicalResourceID: req["PhysicalResourceId"].(string)}
		}
		if props["Alias"] == "bad" {
			id, _ := req["PhysicalResourceId"].(string)
			if id == "" {
				id = "failed-create"
			}
			return Answer{Status: "FAILED", Reason: "alias refused", PhysicalResourceID: id}
		}
		return Answer{Status: "SUCCESS", PhysicalResourceID: "prov:" + props["RoleArn"].(string), Data: map[string]any{"Alias": props["Alias"]}}
	}
	return Answer{Status: "SUCCESS", PhysicalResourceID: "thing"}
}

func TestCreateUpdateReplaceDelete(t *testing.T) {
	st, f := newTestStack(t, idByRole)
	ctx := context.Background()
	if err := st.Create(ctx, map[string]string{"Regions": "us-east-1,eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	out, err := st.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	if out["Provider"] != "prov:arn:aws:iam::123456789012:role/sysdig/role-a" || out["Ext"] != "ext-123" {
		t.Fatalf("outputs %v", out)
	}
	if _, has := out["Extra"]; has {
		t.Fatal("output of an inactive condition")
	}
	first := f.requests[1]["ResourceProperties"].(map[string]any)
	if first["Flag"] != "true" || first["External"] != "ext-123" || first["ServiceToken"] != "arn:aws:lambda:us-east-1:123456789012:function:"+mustPhysical(t, st, "Fn") {
		t.Fatalf("properties sent %v", first)
	}
	if regions, ok := first["Regions"].([]any); !ok || len(regions) != 2 || regions[0] != "us-east-1" {
		t.Fatalf("list parameter sent as %v", first["Regions"])
	}
	if _, has := first["Skip"]; has {
		t.Fatal("AWS::NoValue property was sent")
	}
	if f.requests[0]["ResourceProperties"].(map[string]any)["ServiceTimeout"] != "60" {
		t.Fatal("numbers must be sent as strings")
	}

	// In place: same physical id, no cleanup.
	if err := st.Update(ctx, map[string]string{"Alias": "two"}); err != nil {
		t.Fatal(err)
	}
	// Replacement: new role name, then cleanup Delete of the old id.
	if err := st.Update(ctx, map[string]string{"Name": "b", "WithExtra": "true"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Create Ext",
		"Create Prov",
		"Update Prov prov:arn:aws:iam::123456789012:role/sysdig/role-a",
		// Independent resources go in name order: Extra before Prov.
		"Create Extra",
		"Update Prov prov:arn:aws:iam::123456789012:role/sysdig/role-a",
		"Delete Prov prov:arn:aws:iam::123456789012:role/sysdig/role-a",
		"Delete Prov prov:arn:aws:iam::123456789012:role/sysdig/role-b",
		"Delete Extra thing",
		"Delete Ext ext",
	}
	if got := f.summary(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f.viaSNS != 2 {
		t.Fatalf("an SNS ServiceToken must deliver through SNS: %d", f.viaSNS)
	}
	if upd := f.requests[2]; upd["OldResourceProperties"].(map[string]any)["Alias"] != "one" {
		t.Fatalf("update without old properties: %v", upd)
	}
}

func TestFailedCreateRollsBackWithTheAnsweredID(t *testing.T) {
	st, f := newTestStack(t, idByRole)
	err := st.Create(context.Background(), map[string]string{"Alias": "bad"})
	var se *StackError
	if !errors.As(err, &se) || se.LogicalID != "Prov" || se.Reason != "alias refused" {
		t.Fatalf("error %v", err)
	}
	want := "Create Ext\nCreate Prov\nDelete Prov failed-create\nDelete Ext ext"
	if got := strings.Join(f.summary(), "\n"); got != want {
		t.Fatalf("requests:\n%s\nwant:\n%s", got, want)
	}
}

func TestFailedUpdateRollsBackSwapped(t *testing.T) {
	st, f := newTestStack(t, idByRole)
	ctx := context.Background()
	if err := st.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, map[string]string{"Alias": "bad"}); err == nil {
		t.Fatal("update should fail")
	}
	last := f.requests[len(f.requests)-1]
	if last["RequestType"] != "Update" || last["ResourceProperties"].(map[string]any)["Alias"] != "one" ||
		last["OldResourceProperties"].(map[string]any)["Alias"] != "bad" {
		t.Fatalf("rollback request %v", last)
	}
	out, _ := st.Outputs()
	if out["Provider"] != "prov:arn:aws:iam::123456789012:role/sysdig/role-a" {
		t.Fatalf("after rollback %v", out)
	}
}

func TestParameterValidation(t *testing.T) {
	st, _ := newTestStack(t, idByRole)
	for _, params := range []map[string]string{{"Name": "UPPER"}, {"Alias": "three"}, {"Nope": "x"}} {
		if err := st.Create(context.Background(), params); err == nil {
			t.Errorf("parameters %v accepted", params)
		}
	}
}

func TestNoAnswerEndsAtServiceTimeout(t *testing.T) {
	tpl, _ := ParseTemplate([]byte(testTemplate))
	r := newMemResponder()
	silent := invokerFunc(func(context.Context, []byte) error { return nil })
	st := New(tpl, Pseudo{AccountID: "123456789012", Region: "us-east-1", StackName: "demo"}, silent, r, WithMaxWait(50*time.Millisecond))
	err := st.Create(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "ServiceTimeout") {
		t.Fatalf("error %v", err)
	}
}

type invokerFunc func(context.Context, []byte) error

func (f invokerFunc) Invoke(ctx context.Context, p []byte) error { return f(ctx, p) }

func mustPhysical(t *testing.T, st *Stack, name string) string {
	t.Helper()
	id, _, ok := st.Resource(name)
	if !ok {
		t.Fatalf("%s not created", name)
	}
	return id
}

func TestIntrinsics(t *testing.T) {
	tpl := &Template{Parameters: map[string]Parameter{"P": {Type: "String"}}, Conditions: map[string]any{
		"C": map[string]any{"Fn::And": []any{map[string]any{"Fn::Equals": []any{"a", "a"}}, map[string]any{"Fn::Not": []any{map[string]any{"Condition": "D"}}}}},
		"D": map[string]any{"Fn::Or": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "P"}, "x"}}}},
	}}
	sc := &scope{t: tpl, params: map[string]string{"P": "a,b"}, pseudo: Pseudo{AccountID: "1", Region: "r", Partition: "aws"},
		physical: map[string]string{}, attributes: map[string]map[string]any{}, conditions: map[string]bool{}}
	cases := []struct {
		expr string
		want string
	}{
		{`{"Fn::Join": ["-", [{"Ref": "AWS::Region"}, "x"]]}`, "r-x"},
		{`{"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "P"}]}]}`, "b"},
		{`{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root ${!Literal}"}`, "arn:aws:iam::1:root ${Literal}"},
		{`{"Fn::Sub": ["${X}-${P}", {"X": "y"}]}`, "y-a,b"},
		{`{"Fn::If": ["C", "yes", "no"]}`, "yes"},
	}
	for _, tc := range cases {
		var expr any
		if err := json.Unmarshal([]byte(tc.expr), &expr); err != nil {
			t.Fatal(err)
		}
		got, err := sc.resolve(expr)
		if err != nil || scalarString(got) != tc.want {
			t.Errorf("%s = %v, %v; want %s", tc.expr, got, err, tc.want)
		}
	}
	if _, err := sc.resolve(map[string]any{"Fn::GetAZs": ""}); err == nil {
		t.Error("an unsupported function must be an error")
	}
}

func TestRulesOfTheCommittedTemplate(t *testing.T) {
	b, err := os.ReadFile("../../templates/sysdig-aws-connect.json")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := ParseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	pseudo := Pseudo{AccountID: "123456789012", Region: "us-east-1", Partition: "aws"}
	cases := []struct {
		params  map[string]string
		wantErr string
	}{
		{map[string]string{"ApiTokenSecret": "sysdig/api-token"}, ""},
		{map[string]string{"ApiToken": "t"}, ""},
		{map[string]string{}, "ExactlyOneTokenSource"},
		{map[string]string{"ApiToken": "t", "ApiTokenSecret": "s"}, "ExactlyOneTokenSource"},
		{map[string]string{"ApiToken": "t", "SysdigRegion": "custom"}, "CustomUrlOnlyForCustomRegion"},
		{map[string]string{"ApiToken": "t", "SysdigRegion": "custom", "SysdigCustomUrl": "http://127.0.0.1:8080"}, ""},
		{map[string]string{"ApiToken": "t", "CodeBucketPrefix": ""}, "CodeBucketPrefixRequired"},
	}
	for _, tc := range cases {
		params := map[string]string{"CodeBucketPrefix": "acme-sysdig"} // as a Launch Stack URL fills it in
		maps.Copy(params, tc.params)
		resolved, err := resolveParameters(tpl, params, nil)
		if err == nil {
			err = checkRules(tpl, resolved, pseudo)
		}
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%v: %v, want %q", tc.params, err, tc.wantErr)
		}
	}
}

// Values a Launch Stack URL fills in apply to declared parameters that were not given.
func TestLaunchParameters(t *testing.T) {
	tpl, err := ParseTemplate([]byte(testTemplate))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		given     map[string]string
		wantName  string
		wantAlias string
	}{
		{"filled in", nil, "launch", "two"},
		{"given wins", map[string]string{"Name": "mine"}, "mine", "two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newMemResponder()
			st := New(tpl, Pseudo{AccountID: "123456789012", Region: "us-east-1", StackName: "demo"}, &fakeFunction{responder: r, answer: idByRole}, r,
				WithMaxWait(5*time.Second), WithLaunchParameters(map[string]string{"Name": "launch", "Alias": "two", "NotInTheTemplate": "x"}))
			if err := st.Create(context.Background(), tc.given); err != nil {
				t.Fatal(err)
			}
			if st.params["Name"] != tc.wantName || st.params["Alias"] != tc.wantAlias {
				t.Fatalf("parameters %v", st.params)
			}
		})
	}
}

func TestLoadTemplateURLReadsTheLocalCopyByName(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "member.json"), []byte(`{"Resources":{"R":{"Type":"AWS::SNS::Topic"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := LoadTemplateURL("https://acme-us-east-1.s3.us-east-1.amazonaws.com/sysdig-aws-connect/member.json", dir)
	if err != nil || tpl.Resources["R"].Type != "AWS::SNS::Topic" {
		t.Fatalf("got %v, %v", tpl, err)
	}
	for _, bad := range []string{"", "http://acme.s3.amazonaws.com/member.json", "https://acme.s3.amazonaws.com/", "https://acme.s3.amazonaws.com/member.yaml", "https://acme.s3.amazonaws.com/other.json"} {
		if _, err := LoadTemplateURL(bad, dir); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
