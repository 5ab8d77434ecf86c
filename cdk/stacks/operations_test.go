package stacks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

func assertionsFromStack(s awscdk.Stack) assertions.Template {
	return assertions.Template_FromStack(s, nil)
}

// The hardening options (LogKmsKeyArn, SubnetIds with SecurityGroupIds), the dead-letter
// queues, the alarms and their routing, and the deployer's dashboard.

func TestHardeningParametersAreOptionalAndTakenTogether(t *testing.T) {
	for _, tmpl := range []struct {
		name string
		s    *synthesized
		base map[string]string
	}{
		{"single account", publishedStack(t), launched(map[string]string{ParamAPITokenSecret: "sysdig/api-token"}, true)},
		{"deployer", publishedOrg(t), launched(map[string]string{ParamAPITokenSecret: "sysdig/api-token", ParamOrganizationID: "o-a1b2c3d4e5", ParamOrganizationalUnitIDs: "r-ab12"}, true)},
	} {
		params := tmpl.s.section("Parameters")
		for _, p := range []string{ParamLogKmsKeyArn, ParamSubnetIDs, ParamSecurityGroupIDs, ParamAlarmEmail, ParamAlarmTopicArn} {
			equalJSON(t, tmpl.name+" "+p+" default", params[p].(map[string]interface{})["Default"], `""`)
		}
		equalJSON(t, tmpl.name+" retention of a year and more", params[ParamLogRetentionDays].(map[string]interface{})["AllowedValues"],
			`["1","3","5","7","14","30","60","90","120","150","180","365","400","545","731","1096","1827","2192","2557","2922","3288","3653"]`)
		for _, tc := range []struct {
			name   string
			values map[string]string
			rules  bool
			inVpc  bool
		}{
			{"neither", nil, true, false},
			{"both", map[string]string{ParamSubnetIDs: "subnet-0123456789abcdef0,subnet-0123456789abcdef1", ParamSecurityGroupIDs: "sg-0123456789abcdef0"}, true, true},
			{"subnets alone", map[string]string{ParamSubnetIDs: "subnet-0123456789abcdef0"}, false, true},
			{"security groups alone", map[string]string{ParamSecurityGroupIDs: "sg-0123456789abcdef0"}, false, false},
			{"both alarm routes", map[string]string{ParamAlarmEmail: "ops@example.com", ParamAlarmTopicArn: "arn:aws:sns:us-east-1:123456789012:ops"}, false, false},
		} {
			t.Run(tmpl.name+"/"+tc.name, func(t *testing.T) {
				e := newEvaluator(t, tmpl.s.doc, withValues(tmpl.base, tc.values))
				if ok, rule := e.rulesHold(t); ok != tc.rules {
					t.Errorf("rules hold = %v (%s), want %v", ok, rule, tc.rules)
				}
				if e.conds[CondInVpc] != tc.inVpc {
					t.Errorf("InVpc = %v", e.conds[CondInVpc])
				}
			})
		}
	}
}

func TestDeadLetterQueueKeepsFailedDeliveriesEncryptedFor14Days(t *testing.T) {
	for _, c := range []struct {
		s      *synthesized
		prefix string
	}{{publishedStack(t), "Connector"}, {publishedOrg(t), "Registrar"}} {
		q := c.s.resource(t, c.prefix+"DeadLetterQueue")
		equalJSON(t, c.prefix+" queue", q, `{"Type":"AWS::SQS::Queue","Properties":{"SqsManagedSseEnabled":true,"MessageRetentionPeriod":1209600,
			"RedriveAllowPolicy":{"redrivePermission":"allowAll"}},"Metadata":`+canon(q["Metadata"])+`}`)
		if _, ok := q["Condition"]; ok {
			t.Errorf("%s: the dead-letter queue must always exist", c.prefix)
		}
		equalJSON(t, c.prefix+" destination", props(c.s.resource(t, c.prefix+"AsyncInvokeConfig"))["DestinationConfig"],
			`{"OnFailure":{"Destination":{"Fn::GetAtt":["`+c.prefix+`DeadLetterQueue","Arn"]}}}`)
		if !strings.Contains(canon(props(c.s.resource(t, c.prefix+"Role"))), `{"Action":"sqs:SendMessage","Effect":"Allow","Resource":{"Fn::GetAtt":["`+c.prefix+`DeadLetterQueue","Arn"]},"Sid":"DeadLetters"}`) {
			t.Errorf("%s: the role may not send to its dead-letter queue", c.prefix)
		}
	}
}

// publishedOperations is the deployer's nested operations template.
func publishedOperations(t *testing.T) *synthesized {
	t.Helper()
	app := newTestApp(t, "", true)
	s := NewOperationsStack(app, "OpsTest")
	withNag(app)
	tmpl := assertionsFromStack(s.Stack)
	if f := nagFindings(s.Stack); len(f) > 0 {
		t.Errorf("operations: %d unsuppressed AwsSolutions findings:\n%s", len(f), strings.Join(f, "\n"))
	}
	return &synthesized{tmpl: tmpl, doc: *tmpl.ToJSON()}
}

func TestAlarmsOnFailuresRefusalsThrottlingAndDeadLetters(t *testing.T) {
	ops, single := publishedOperations(t), publishedStack(t)
	want := map[string]string{
		"RequestsFAILED":  `{"Namespace":"SysdigAwsConnect","MetricName":"Requests","Dimensions":[{"Name":"Function","Value":FN},{"Name":"Outcome","Value":"FAILED"}],"Statistic":"Sum","Period":60,"EvaluationPeriods":1}`,
		"RequestsREFUSED": `{"Namespace":"SysdigAwsConnect","MetricName":"Requests","Dimensions":[{"Name":"Function","Value":FN},{"Name":"Outcome","Value":"REFUSED"}],"Statistic":"Sum","Period":60,"EvaluationPeriods":1}`,
		// Sustained: every one of 5 consecutive minutes.
		"Throttled":   `{"Namespace":"SysdigAwsConnect","MetricName":"ThrottledCalls","Dimensions":[{"Name":"Function","Value":FN}],"Statistic":"Sum","Period":60,"EvaluationPeriods":5,"DatapointsToAlarm":5}`,
		"DeadLetters": `{"Namespace":"AWS/SQS","MetricName":"ApproximateNumberOfMessagesVisible","Dimensions":[{"Name":"QueueName","Value":QUEUE}],"Statistic":"Maximum","Period":300,"EvaluationPeriods":1}`,
	}
	for _, c := range []struct {
		s                         *synthesized
		prefix, condition, routed string
		fn, queue                 string
	}{
		{ops, "Registrar", "", `[{"Ref":"AlarmAction"}]`, `{"Ref":"FunctionName"}`, `{"Ref":"DeadLetterQueueName"}`},
		{single, "Connector", CondAlarms, `[{"Fn::If":["HasAlarmTopicArn",{"Ref":"AlarmTopicArn"},{"Ref":"AlarmTopic"}]}]`,
			`{"Ref":"ConnectorFunction"}`, `{"Fn::GetAtt":["ConnectorDeadLetterQueue","QueueName"]}`},
	} {
		for id, metric := range want {
			a := c.s.resource(t, c.prefix+id)
			p := props(a)
			got := map[string]interface{}{}
			for _, k := range []string{"Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods", "DatapointsToAlarm"} {
				if v, ok := p[k]; ok {
					got[k] = v
				}
			}
			equalJSON(t, c.prefix+id+" metric", got, strings.NewReplacer("FN", c.fn, "QUEUE", c.queue).Replace(metric))
			equalJSON(t, c.prefix+id+" fires on any", []interface{}{p["Threshold"], p["ComparisonOperator"], p["TreatMissingData"]}, `[0,"GreaterThanThreshold","notBreaching"]`)
			equalJSON(t, c.prefix+id+" routing", p["AlarmActions"], c.routed)
			if cond, _ := a["Condition"].(string); cond != c.condition {
				t.Errorf("%s%s condition %q, want %q", c.prefix, id, cond, c.condition)
			}
		}
	}
	// The deployer's topic always exists (the alarms always have an action: Control
	// Tower's CT.CLOUDWATCH.PR.1); the address is subscribed only when given. The
	// deployer passes its route and the registrar's names to the nested operations stack.
	org := publishedOrg(t)
	topic := org.resource(t, "AlarmTopic")
	if _, ok := topic["Condition"]; ok {
		t.Error("the deployer's alarm topic must always exist")
	}
	equalJSON(t, "deployer subscription", props(topic)["Subscription"], `{"Fn::If":["HasAlarmEmail",[{"Protocol":"email","Endpoint":{"Ref":"AlarmEmail"}}],{"Ref":"AWS::NoValue"}]}`)
	equalJSON(t, "single-account topic", single.resource(t, "AlarmTopic")["Condition"], `"HasAlarmEmail"`)
	// Single account: alarms only when routed, and then the action always resolves.
	base := launched(map[string]string{ParamAPITokenSecret: "sysdig/api-token"}, true)
	checkScenario(t, single.doc, base, true, nil, []string{"ConnectorRequestsFAILED", "AlarmTopic"}, nil)
	checkScenario(t, single.doc, withValues(base, map[string]string{ParamAlarmEmail: "ops@example.com"}), true, []string{"ConnectorRequestsFAILED", "AlarmTopic"}, nil, nil)
	checkScenario(t, single.doc, withValues(base, map[string]string{ParamAlarmTopicArn: "arn:aws:sns:us-east-1:123456789012:ops"}), true, []string{"ConnectorThrottled"}, []string{"AlarmTopic"}, nil)
}

func TestOrgNestsItsAlarmsAndDashboard(t *testing.T) {
	org := publishedOrg(t)
	nested := org.resource(t, "Operations")
	equalJSON(t, "nested stack", props(nested)["TemplateURL"],
		`{"Fn::Sub":"https://${CodeBucketPrefix}-${AWS::Region}.s3.${AWS::Region}.${AWS::URLSuffix}/${OperationsTemplateKey}"}`)
	passed := map[string]interface{}{}
	for k, v := range props(nested)["Parameters"].(map[string]interface{}) {
		passed[k] = v
	}
	delete(passed, ParamOpsTokenSecretArns) // TestDriftCheckOnlyReads: exactly the registrar's
	delete(passed, ParamSysdigAPIURL)       // TestDriftCheckFunctionIsTheRegistrarsCodeUnderItsOwnHandler
	equalJSON(t, "nested stack parameters", passed, `{"FunctionName":{"Ref":"RegistrarFunction"},"DeadLetterQueueName":{"Fn::GetAtt":["RegistrarDeadLetterQueue","QueueName"]},
		"AlarmAction":{"Fn::If":["HasAlarmTopicArn",{"Ref":"AlarmTopicArn"},{"Ref":"AlarmTopic"}]},
		"StackSetName":{"Fn::Sub":"${AWS::StackName}-members"},"DashboardName":{"Fn::Sub":"${AWS::StackName}-registrar"},
		"DriftCheckSchedule":{"Ref":"DriftCheckSchedule"},"DeployerStackId":{"Ref":"AWS::StackId"},"RegistryTableArn":{"Fn::GetAtt":["RegistryTable","Arn"]},
		"ApiTokenKmsKeyArn":{"Ref":"ApiTokenKmsKeyArn"},"RegistrarConcurrency":{"Ref":"RegistrarConcurrency"},
		"CodeBucket":{"Fn::Join":["-",[{"Ref":"CodeBucketPrefix"},{"Ref":"AWS::Region"}]]},"CodeKey":{"Ref":"CodeKey"},"CodeSigningConfigArn":{"Ref":"CodeSigningConfigArn"},
		"LogRetentionDays":{"Ref":"LogRetentionDays"},"LogKmsKeyArn":{"Ref":"LogKmsKeyArn"},
		"SubnetIds":{"Fn::Join":[",",{"Ref":"SubnetIds"}]},"SecurityGroupIds":{"Fn::Join":[",",{"Ref":"SecurityGroupIds"}]}}`)
	equalJSON(t, "DashboardUrl", org.section("Outputs")[OutDashboardURL].(map[string]interface{})["Value"],
		`{"Fn::Sub":"https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${AWS::StackName}-registrar"}`)
	ops := publishedOperations(t)
	for name := range ops.section("Parameters") {
		if _, ok := props(nested)["Parameters"].(map[string]interface{})[name]; !ok {
			t.Errorf("the deployer does not pass the operations parameter %s", name)
		}
	}
}

func TestOrgDashboard(t *testing.T) {
	s := publishedOperations(t)
	equalJSON(t, "name", props(s.resource(t, "Dashboard"))["DashboardName"], `{"Ref":"DashboardName"}`)
	sub, ok := props(s.resource(t, "Dashboard"))["DashboardBody"].(map[string]interface{})["Fn::Sub"].(string)
	if !ok {
		t.Fatal("DashboardBody is not one Fn::Sub")
	}
	var body struct {
		Widgets []struct {
			Properties struct {
				Title   string          `json:"title"`
				Region  string          `json:"region"`
				Metrics json.RawMessage `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(sub), &body); err != nil {
		t.Fatalf("the dashboard body is not JSON: %v", err)
	}
	titles := map[string]string{}
	for _, w := range body.Widgets {
		titles[w.Properties.Title] = string(w.Properties.Metrics)
		if w.Properties.Region != "${AWS::Region}" {
			t.Errorf("%s: region %q", w.Properties.Title, w.Properties.Region)
		}
	}
	for title, want := range map[string]string{
		"Registrations per hour by outcome": `NOT RequestType=\"Delete\"','Sum',3600)`,
		"Removals per hour by outcome":      ` RequestType=\"Delete\"','Sum',3600)`,
		"Refused and failed requests":       `["SysdigAwsConnect","Requests","Function","${FunctionName}","Outcome","REFUSED"],["...","FAILED"]`,
		"Sysdig throttling (429 answers)":   `"ThrottledCalls","Function","${FunctionName}"`,
		"Sysdig latency (ms)":               `"SysdigTime","Function","${FunctionName}",{"stat":"p99"}`,
		"Dead letters":                      `"QueueName","${DeadLetterQueueName}"`,
		"Accounts by drift verdict":         `{SysdigAwsConnect,StackSet,Verdict} MetricName=\"Accounts\" StackSet=\"${StackSetName}\"`,
	} {
		if !strings.Contains(titles[title], want) {
			t.Errorf("widget %q: metrics %s lack %s", title, titles[title], want)
		}
	}
	if len(titles) != 7 {
		t.Errorf("%d widgets", len(titles))
	}
}
