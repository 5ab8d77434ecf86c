package driftcheck_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/driftcheck"
	"sysdig-aws-connect/internal/orgreport"
)

func TestConfigFromEnv(t *testing.T) {
	full := map[string]string{driftcheck.EnvDeployerStackID: stackID, driftcheck.EnvSysdigAPIURL: "https://app.sysdigcloud.com"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    driftcheck.Config
		wantErr string
	}{
		{"defaults", full, driftcheck.Config{StackID: stackID, SysdigURL: "https://app.sysdigcloud.com", Instances: 1, MaxSysdigReads: driftcheck.DefaultMaxSysdigReads}, ""},
		{"registrar concurrency and a cap", with(driftcheck.EnvConcurrentInstances, "5", driftcheck.EnvMaxSysdigReads, " 300 "),
			driftcheck.Config{StackID: stackID, SysdigURL: "https://app.sysdigcloud.com", Instances: 5, MaxSysdigReads: 300}, ""},
		{"nothing set", map[string]string{}, driftcheck.Config{}, "DEPLOYER_STACK_ID and SYSDIG_API_URL not set"},
		{"not a stack ARN", with(driftcheck.EnvDeployerStackID, "sysdig-org"), driftcheck.Config{}, "is not a CloudFormation stack ARN"},
		{"another service's ARN", with(driftcheck.EnvDeployerStackID, "arn:aws:sns:eu-west-1:1:stack/x"), driftcheck.Config{}, "is not a CloudFormation stack ARN"},
		{"zero instances", with(driftcheck.EnvConcurrentInstances, "0"), driftcheck.Config{}, "CONCURRENT_INSTANCES=\"0\""},
		{"cap not a number", with(driftcheck.EnvMaxSysdigReads, "many"), driftcheck.Config{}, "MAX_SYSDIG_READS=\"many\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := driftcheck.ConfigFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestCheckEventAcceptsOnlyTheSchedulePayload(t *testing.T) {
	for _, tc := range []struct {
		event string
		ok    bool
	}{
		{driftcheck.ScheduleInput, true},
		{` {"check": "drift"} `, true},
		{`{"check":"drift","stack":"another"}`, false}, // nothing in the event chooses what is read
		{`{"check":"reconcile"}`, false},
		{`{}`, false},
		{`{"RequestType":"Create","ResponseURL":"https://x"}`, false}, // a custom-resource request
		{`{"Records":[{"Sns":{"Message":"{\"check\":\"drift\"}"}}]}`, false},
		{`{"check":"drift"}{"check":"drift"}`, false},
		{`not json`, false},
	} {
		err := driftcheck.CheckEvent([]byte(tc.event))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.event, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), driftcheck.ScheduleInput) {
			t.Errorf("%s: the refusal does not say what the handler accepts: %v", tc.event, err)
		}
	}
}

// TestScheduledCheckBoundsSysdigReads: past the cap a provider is not read and its account
// says why (UNKNOWN); the metrics are still written.
func TestScheduledCheckBoundsSysdigReads(t *testing.T) {
	o := newOrg(t)
	var metrics, logs syncBuffer
	c := o.checker(t, &metrics, &logs, map[string]string{driftcheck.EnvMaxSysdigReads: "1"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := c.Handle(ctx, json.RawMessage(driftcheck.ScheduleInput))
	if err != nil {
		t.Fatal(err)
	}
	if res.SysdigReads != 1 || res.Counts[orgreport.VerdictUnknown] != 2 {
		t.Fatalf("result %+v: want 1 read and the two other registered, active accounts UNKNOWN", res)
	}
	if !strings.Contains(logs.String(), "reads at most 1 providers a run (MAX_SYSDIG_READS)") {
		t.Errorf("no account line says the cap stopped the read:\n%s", logs.String())
	}
	if n := len(metrics.lines(t)); n != len(orgreport.Verdicts) {
		t.Errorf("%d metric lines", n)
	}
}

// TestScheduledCheckWithoutTheToken still counts the AWS side, the registered accounts
// UNKNOWN with the reason.
func TestScheduledCheckWithoutTheToken(t *testing.T) {
	o := newOrg(t)
	o.sm.Deny("GetSecretValue", o.secret)
	var metrics, logs syncBuffer
	res, err := o.checker(t, &metrics, &logs, nil).Handle(context.Background(), json.RawMessage(driftcheck.ScheduleInput))
	if err != nil {
		t.Fatal(err)
	}
	if res.SysdigReads != 0 || res.Counts[orgreport.VerdictFailed] != 1 || res.Counts[orgreport.VerdictMissing] != 1 {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(logs.String(), "Sysdig not read: the API token secret") || len(metrics.lines(t)) != len(orgreport.Verdicts) {
		t.Errorf("the token's absence is not reported, or metrics are missing:\n%s", logs.String())
	}
}

// TestScheduledCheckWithoutItsStack writes nothing and fails, naming the stack.
func TestScheduledCheckWithoutItsStack(t *testing.T) {
	o := newOrg(t)
	var metrics, logs syncBuffer
	c := o.checker(t, &metrics, &logs, map[string]string{driftcheck.EnvDeployerStackID: "arn:aws:cloudformation:eu-west-1:999900000000:stack/gone/1"})
	_, err := c.Handle(context.Background(), json.RawMessage(driftcheck.ScheduleInput))
	if err == nil || !strings.Contains(err.Error(), "read the deployer stack") || metrics.String() != "" {
		t.Fatalf("err = %v, metrics %q", err, metrics.String())
	}
	if _, err := c.Handle(context.Background(), json.RawMessage(`{"RequestType":"Delete"}`)); err == nil || !strings.Contains(err.Error(), "refused the event") {
		t.Fatalf("a custom-resource request: %v", err)
	}
}

// TestScheduledCheckStopsReadingSysdigBeforeItsDeadline: with less time left than the
// check keeps for writing its results, no provider is read; the metrics are still written.
func TestScheduledCheckStopsReadingSysdigBeforeItsDeadline(t *testing.T) {
	o := newOrg(t)
	var metrics, logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := o.checker(t, &metrics, &logs, nil).Handle(ctx, json.RawMessage(driftcheck.ScheduleInput))
	if err != nil {
		t.Fatal(err)
	}
	if res.SysdigReads != 0 || res.Counts[orgreport.VerdictUnknown] != 3 || len(metrics.lines(t)) != len(orgreport.Verdicts) {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(logs.String(), "the drift check's run ended before this read") {
		t.Errorf("no account line says why Sysdig was not read:\n%s", logs.String())
	}
}
