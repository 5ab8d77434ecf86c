package stacks

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
)

// Alarm routing (issue 16, shared with the drift check of issue 15).
const (
	ParamAlarmEmail    = "AlarmEmail"
	ParamAlarmTopicArn = "AlarmTopicArn"

	CondHasAlarmEmail = "HasAlarmEmail"
	CondHasAlarmTopic = "HasAlarmTopicArn"
	// CondAlarms: the single-account stack creates its alarms only when they go somewhere.
	CondAlarms = "Alarms"

	// MetricsNamespace holds the per-request records (EMF) the function writes and the
	// drift check's counts.
	MetricsNamespace = "SysdigAwsConnect"
)

// AlarmRouting is where alarms go: AlarmTopicArn, or a topic the stack creates and
// subscribes AlarmEmail to. Other constructs that create alarms take Actions
// (AlarmActions) so every alarm of the stack goes to the same place.
type AlarmRouting struct {
	// Actions is the AlarmActions value: [AlarmTopicArn] when set, else [the topic].
	Actions *[]*string
	// Topic is the stack's alarm topic, AlarmEmail subscribed to it. In the deployer it
	// always exists (subscribe to it later, or give AlarmTopicArn); in the single-account
	// stack only with AlarmEmail.
	Topic awssns.CfnTopic
	// Condition is the alarms' own condition (nil: they always exist).
	Condition awscdk.CfnCondition
	actions   []interface{}
}

// alarmParams: AlarmEmail and AlarmTopicArn, their conditions and the rule that takes one.
func (s *templateStack) alarmParams() {
	s.param(ParamAlarmEmail, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^[^@\s]+@[^@\s]+\.[^@\s]+$`),
		ConstraintDescription: jsii.String("an e-mail address"),
		Description:           jsii.String("Optional e-mail for the alarms (confirm the subscription mail)."),
	})
	s.param(ParamAlarmTopicArn, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`),
		ConstraintDescription: jsii.String("an SNS topic ARN"),
		Description:           jsii.String("Optional SNS topic for the alarms (instead of AlarmEmail)."),
	})
	s.cond(CondHasAlarmEmail, notEmpty(s.str(ParamAlarmEmail)))
	s.cond(CondHasAlarmTopic, notEmpty(s.str(ParamAlarmTopicArn)))
	s.rule("OneAlarmRoute", "Set AlarmEmail or AlarmTopicArn, not both (subscribe the address to your topic).",
		awscdk.Fn_ConditionOr(empty(s.str(ParamAlarmEmail)), empty(s.str(ParamAlarmTopicArn))))
}

// alarmRouting creates the e-mail topic (under CondHasAlarmEmail). always: the alarms
// exist whatever the routing (the deployer); otherwise only when routed (CondAlarms).
func (s *templateStack) alarmRouting(always bool) *AlarmRouting {
	r := &AlarmRouting{}
	var subscription interface{} = []interface{}{map[string]interface{}{"Protocol": "email", "Endpoint": s.str(ParamAlarmEmail)}}
	r.Topic = awssns.NewCfnTopic(s.Stack, jsii.String("AlarmTopic"), &awssns.CfnTopicProps{})
	if always {
		subscription = awscdk.Fn_ConditionIf(jsii.String(CondHasAlarmEmail), subscription, awscdk.Aws_NO_VALUE())
	} else {
		s.cond(CondAlarms, awscdk.Fn_ConditionOr(s.Conditions[CondHasAlarmEmail], s.Conditions[CondHasAlarmTopic]))
		r.Condition = s.Conditions[CondAlarms]
		r.Topic.CfnOptions().SetCondition(s.Conditions[CondHasAlarmEmail])
	}
	r.Topic.AddPropertyOverride(jsii.String("Subscription"), subscription)
	suppress(r.Topic, "AwsSolutions-SNS2", reasonAlarmTopicNoKMS)
	suppress(r.Topic, "AwsSolutions-SNS3", reasonAlarmTopicNoKMS)
	// Alarms exist only where this resolves: always in the deployer; in the single-account
	// stack only with AlarmTopicArn or AlarmEmail (then the topic exists).
	r.actions = []interface{}{s.ifCond(CondHasAlarmTopic, s.str(ParamAlarmTopicArn), r.Topic.Ref())}
	r.Actions = &[]*string{s.ifCond(CondHasAlarmTopic, s.str(ParamAlarmTopicArn), r.Topic.Ref())}
	return r
}

// routeTo sends the alarms to action (the operations template: the deployer passes its route).
func routeTo(action *string) *AlarmRouting {
	return &AlarmRouting{Actions: &[]*string{action}, actions: []interface{}{action}}
}

// alarm is one alarm on metric (with dims) > 0 in periods of the last periods minutes.
type alarm struct {
	id, description, namespace, metric, stat string
	dims                                     map[string]*string
	period, periods                          float64
}

func (s *templateStack) addAlarm(r *AlarmRouting, a alarm) awscloudwatch.CfnAlarm {
	dims := []interface{}{}
	for _, k := range sortedKeys(a.dims) {
		dims = append(dims, &awscloudwatch.CfnAlarm_DimensionProperty{Name: jsii.String(k), Value: a.dims[k]})
	}
	c := awscloudwatch.NewCfnAlarm(s.Stack, jsii.String(a.id), &awscloudwatch.CfnAlarmProps{
		AlarmDescription:   jsii.String(a.description),
		Namespace:          jsii.String(a.namespace),
		MetricName:         jsii.String(a.metric),
		Dimensions:         &dims,
		Statistic:          jsii.String(a.stat),
		Period:             jsii.Number(a.period),
		EvaluationPeriods:  jsii.Number(a.periods),
		Threshold:          jsii.Number(0),
		ComparisonOperator: jsii.String("GreaterThanThreshold"),
		TreatMissingData:   jsii.String("notBreaching"),
	})
	c.AddPropertyOverride(jsii.String("AlarmActions"), r.actions)
	if a.periods > 1 {
		c.SetDatapointsToAlarm(jsii.Number(a.periods)) // every one of them
	}
	if r.Condition != nil {
		c.CfnOptions().SetCondition(r.Condition)
	}
	return c
}

// FunctionAlarms are the alarms on one function's requests and dead letters.
type FunctionAlarms struct {
	Failed, Refused, Throttled, DeadLetters awscloudwatch.CfnAlarm
}

// functionAlarms: any FAILED request, any REFUSED request (a forged request is an
// incident), Sysdig throttling in each of 5 consecutive minutes, any dead letter. The
// per-request metrics are the function's EMF records (docs/operations.md).
func (s *templateStack) functionAlarms(prefix string, fn, deadLetterQueue *string, r *AlarmRouting) *FunctionAlarms {
	outcome := func(o, what string) alarm {
		return alarm{id: prefix + "Requests" + o, namespace: MetricsNamespace, metric: "Requests", stat: "Sum", period: 60, periods: 1,
			dims: map[string]*string{"Function": fn, "Outcome": jsii.String(o)}, description: what}
	}
	return &FunctionAlarms{
		Failed:  s.addAlarm(r, outcome("FAILED", "A request failed (see its stack's Reason).")),
		Refused: s.addAlarm(r, outcome("REFUSED", "A request was refused: forged, or not from this stack.")),
		Throttled: s.addAlarm(r, alarm{id: prefix + "Throttled", namespace: MetricsNamespace, metric: "ThrottledCalls", stat: "Sum", period: 60, periods: 5,
			dims: map[string]*string{"Function": fn}, description: "Sysdig throttled calls for 5 minutes."}),
		DeadLetters: s.addAlarm(r, alarm{id: prefix + "DeadLetters", namespace: "AWS/SQS", metric: "ApproximateNumberOfMessagesVisible", stat: "Maximum", period: 300, periods: 1,
			dims: map[string]*string{"QueueName": deadLetterQueue}, description: "A request was never answered: read the dead letter."}),
	}
}

func sortedKeys(m map[string]*string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
