package metrics

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRecordOfARequest(t *testing.T) {
	now := t0
	var b strings.Builder
	e := NewEmitter(&b, "sysdig-registrar", WithClock(func() time.Time { return now }),
		WithResourceTypes("Custom::SysdigProvider", "Custom::SysdigExternalId"))
	r := NewRecorder(t0)
	ctx := NewContext(context.Background(), r)
	FromContext(ctx).SysdigCall(40*time.Millisecond, 429)
	FromContext(ctx).SysdigCall(60*time.Millisecond, 201)
	FromContext(ctx).SysdigCall(5*time.Millisecond, 0)
	now = t0.Add(1500 * time.Millisecond)
	if ok, err := e.Emit(r, Request{ResourceType: "Custom::SysdigProvider", RequestType: "Create", Outcome: "SUCCESS", RequestID: "r1", LogicalResourceID: "SysdigProvider", StackID: "arn:s"}); !ok || err != nil {
		t.Fatalf("Emit() = %v, %v", ok, err)
	}
	// A second Emit for the same request writes nothing.
	if ok, err := e.Emit(r, Request{Outcome: "FAILED"}); ok || err != nil {
		t.Fatalf("second Emit() = %v, %v, want false, nil", ok, err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1: %q", len(lines), b.String())
	}
	checkPinned(t, lines[0])
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"Function": "sysdig-registrar", "ResourceType": "Custom::SysdigProvider", "RequestType": "Create",
		"Outcome": "SUCCESS", "Requests": 1.0, "SysdigCalls": 3.0, "ThrottledCalls": 1.0, "SysdigTime": 105.0,
		"TotalTime": 1500.0, "RequestId": "r1", "LogicalResourceId": "SysdigProvider", "StackId": "arn:s",
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
}

func TestDimensionsARequestCannotChoose(t *testing.T) {
	e := NewEmitter(&strings.Builder{}, "", WithResourceTypes("Custom::SysdigProvider"))
	for _, c := range []struct {
		name                     string
		req                      Request
		function, resource, kind string
	}{
		{"known", Request{ResourceType: "Custom::SysdigProvider", RequestType: "Delete"}, "unknown", "Custom::SysdigProvider", "Delete"},
		{"unknown resource type", Request{ResourceType: "Custom::Anything", RequestType: "Update"}, "unknown", "Other", "Update"},
		{"empty", Request{}, "unknown", "unknown", "unknown"},
		{"odd request type", Request{ResourceType: "Custom::SysdigProvider", RequestType: "Explode"}, "unknown", "Custom::SysdigProvider", "Other"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.Record(nil, c.req)
			got := map[string]string{}
			for _, p := range rec.Dimensions {
				got[p.Name] = p.Value
			}
			if got[DimFunction] != c.function || got[DimResourceType] != c.resource || got[DimRequestType] != c.kind {
				t.Errorf("dimensions %v, want %s %s %s", got, c.function, c.resource, c.kind)
			}
		})
	}
	// Without a list of known types, plain names are kept and others are Other.
	plain := NewEmitter(&strings.Builder{}, "fn")
	for in, want := range map[string]string{"Custom::Mine": "Custom::Mine", "Custom::my type": "Other", "Custom::💥": "Other"} {
		rec := plain.Record(nil, Request{ResourceType: in})
		if rec.Dimensions[1].Value != want {
			t.Errorf("ResourceType %q became %q, want %q", in, rec.Dimensions[1].Value, want)
		}
	}
}

func TestRecorderCountsConcurrentCalls(t *testing.T) {
	r := NewRecorder(t0)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := 200
			if i%5 == 0 {
				status = 429
			}
			r.SysdigCall(time.Millisecond, status)
		}()
	}
	wg.Wait()
	if f := r.Figures(); f.SysdigCalls != 50 || f.ThrottledCalls != 10 || f.SysdigTime != 50*time.Millisecond {
		t.Errorf("figures %+v, want 50 calls, 10 throttled, 50ms", f)
	}
	// Outside a request, nothing is counted and nothing fails.
	var none *Recorder
	none.SysdigCall(time.Second, 429)
	FromContext(context.Background()).SysdigCall(time.Second, 200)
	if f := none.Figures(); f != (Figures{}) {
		t.Errorf("nil recorder figures %+v", f)
	}
}

func TestSummarize(t *testing.T) {
	var b strings.Builder
	e := NewEmitter(&b, "fn", WithClock(func() time.Time { return t0 }))
	emit := func(resource, kind, outcome string, calls int) {
		r := NewRecorder(t0)
		for range calls {
			r.SysdigCall(10*time.Millisecond, 200)
		}
		if _, err := e.Emit(r, Request{ResourceType: resource, RequestType: kind, Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	emit("Custom::SysdigProvider", "Create", "SUCCESS", 2)
	emit("Custom::SysdigProvider", "Delete", "SUCCESS", 1)
	emit("Custom::SysdigExternalId", "Create", "SUCCESS", 1)
	emit("Custom::SysdigProvider", "Create", "REFUSED", 0)
	emit("Custom::SysdigProvider", "Create", "DUPLICATE", 0)
	lines := strings.Split(b.String(), "\n")
	lines = append(lines, `{"level":"INFO","msg":"request received"}`, `{"_aws":{"Timestamp":1},"broken":true}`, "plain text")
	s := Summarize(lines)
	if s.Records != 5 || s.Invalid != 1 {
		t.Fatalf("records %d invalid %d, want 5 and 1", s.Records, s.Invalid)
	}
	if s.Count(Success) != 3 || s.Count(Refused) != 1 || s.Count(Duplicate) != 1 || s.Count(Failed) != 0 {
		t.Errorf("counts by outcome wrong: %+v", s.Groups)
	}
	got := strings.Join(s.Lines(), "\n")
	want := strings.Join([]string{
		"outcome   resource type             requests (C/U/D)  Sysdig calls  throttled  Sysdig ms",
		"SUCCESS   Custom::SysdigExternalId  1 (1/0/0)                    1          0         10",
		"SUCCESS   Custom::SysdigProvider    2 (1/0/1)                    3          0         30",
		"REFUSED   Custom::SysdigProvider    1 (1/0/0)                    0          0          0",
		"DUPLICATE Custom::SysdigProvider    1 (1/0/0)                    0          0          0",
		"1 lines are not valid EMF records: CloudWatch would drop their metrics",
	}, "\n")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
