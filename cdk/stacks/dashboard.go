package stacks

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"
)

// OutDashboardURL names the deployer's dashboard in the console.
const OutDashboardURL = "DashboardUrl"

// newDashboard is the picture an operator opens first: the registrar's registrations and
// removals per hour by outcome, refusals and failures, Sysdig's throttling and latency,
// dead letters, and the drift check's accounts by verdict. The body is one Fn::Sub of
// compact JSON naming the function, the dead-letter queue and the StackSet by the
// operations template's parameters.
func (s *templateStack) newDashboard(name *string) awscloudwatch.CfnDashboard {
	fn, queue := "${"+ParamOpsFunctionName+"}", "${"+ParamOpsDeadLetterQueueName+"}"
	search := func(filter, stat string, period int) []interface{} {
		return []interface{}{map[string]interface{}{"expression": "SEARCH('" + filter + "','" + stat + "'," + strconv.Itoa(period) + ")"}}
	}
	requests := `{` + MetricsNamespace + `,Function,ResourceType,RequestType,Outcome} MetricName="Requests" Function="` + fn + `" ResourceType="Custom::SysdigProvider" `
	widget := func(title string, metrics []interface{}, extra map[string]interface{}) map[string]interface{} {
		p := map[string]interface{}{"title": title, "region": "${AWS::Region}", "metrics": metrics}
		for k, v := range extra {
			p[k] = v
		}
		return map[string]interface{}{"type": "metric", "width": 12, "properties": p}
	}
	sum5 := map[string]interface{}{"stat": "Sum", "period": 300}
	body := map[string]interface{}{"widgets": []interface{}{
		widget("Registrations per hour by outcome", []interface{}{search(requests+`NOT RequestType="Delete"`, "Sum", 3600)}, nil),
		widget("Removals per hour by outcome", []interface{}{search(requests+`RequestType="Delete"`, "Sum", 3600)}, nil),
		widget("Refused and failed requests", []interface{}{
			[]interface{}{MetricsNamespace, "Requests", "Function", fn, "Outcome", "REFUSED"},
			[]interface{}{"...", "FAILED"},
		}, sum5),
		widget("Sysdig throttling (429 answers)", []interface{}{[]interface{}{MetricsNamespace, "ThrottledCalls", "Function", fn}}, sum5),
		widget("Sysdig latency (ms)", []interface{}{
			[]interface{}{MetricsNamespace, "SysdigTime", "Function", fn, map[string]string{"stat": "p99"}},
			[]interface{}{"...", map[string]string{"stat": "Average"}},
		}, map[string]interface{}{"period": 300}),
		widget("Dead letters", []interface{}{[]interface{}{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue}}, map[string]interface{}{"stat": "Maximum", "period": 300}),
		widget("Accounts by drift verdict", []interface{}{search(`{`+MetricsNamespace+`,StackSet,Verdict} MetricName="Accounts" StackSet="${`+ParamOpsStackSetName+`}"`, "Maximum", 86400)}, nil),
	}}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		panic(err) // a literal of strings and numbers always encodes
	}
	d := awscloudwatch.NewCfnDashboard(s.Stack, jsii.String("Dashboard"), &awscloudwatch.CfnDashboardProps{
		DashboardName: name,
		DashboardBody: awscdk.Fn_Sub(jsii.String(strings.TrimSpace(b.String())), nil),
	})
	d.OverrideLogicalId(jsii.String("Dashboard"))
	return d
}
