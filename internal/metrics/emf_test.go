package metrics

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

func TestEncodeFollowsTheSpecification(t *testing.T) {
	rec := Record{
		Namespace:     Namespace,
		Time:          t0,
		DimensionSets: [][]string{{"Function", "Outcome"}, {"Function"}},
		Dimensions:    []Property{{"Function", "fn"}, {"Outcome", "SUCCESS"}},
		Metrics:       []Metric{{"Requests", Count, 1}, {"SysdigTime", Milliseconds, 12.5}},
		Fields:        []Property{{"RequestId", "r-1"}},
	}
	line, err := rec.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_aws":{"Timestamp":1796461200000,"CloudWatchMetrics":[{"Namespace":"SysdigAwsConnect","Dimensions":[["Function","Outcome"],["Function"]],"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"SysdigTime","Unit":"Milliseconds"}]}]},"Function":"fn","Outcome":"SUCCESS","RequestId":"r-1","Requests":1,"SysdigTime":12.5}`
	if string(line) != want {
		t.Errorf("got\n%s\nwant\n%s", line, want)
	}
	if strings.ContainsRune(string(line), '\n') {
		t.Error("a record must be one line")
	}
}

func TestEncodeRefusesWhatCloudWatchWouldDrop(t *testing.T) {
	base := func() Record {
		return Record{Namespace: "N", Time: t0, DimensionSets: [][]string{{"D"}},
			Dimensions: []Property{{"D", "v"}}, Metrics: []Metric{{"M", Count, 1}}}
	}
	for _, c := range []struct {
		name   string
		modify func(*Record)
		want   string
	}{
		{"no namespace", func(r *Record) { r.Namespace = "" }, "Namespace"},
		{"AWS namespace", func(r *Record) { r.Namespace = "AWS/Lambda" }, "Namespace"},
		{"dimension without value", func(r *Record) { r.DimensionSets = [][]string{{"Missing"}} }, "no string member"},
		{"empty dimension value", func(r *Record) { r.Dimensions[0].Value = "" }, "printable ASCII"},
		{"blank dimension value", func(r *Record) { r.Dimensions[0].Value = "   " }, "printable ASCII"},
		{"non-ASCII dimension value", func(r *Record) { r.Dimensions[0].Value = "é" }, "printable ASCII"},
		{"no metrics", func(r *Record) { r.Metrics = nil }, "0 metrics"},
		{"NaN", func(r *Record) { r.Metrics[0].Value = math.NaN() }, "not a number"},
		{"infinity", func(r *Record) { r.Metrics[0].Value = math.Inf(1) }, "not a number"},
		{"bad unit", func(r *Record) { r.Metrics[0].Unit = "Parsecs" }, "not a CloudWatch unit"},
		{"repeated member", func(r *Record) { r.Fields = []Property{{"D", "again"}} }, "repeated"},
		{"metric named like a dimension", func(r *Record) { r.Metrics[0].Name = "D" }, "repeated"},
		{"too many dimensions", func(r *Record) {
			set := make([]string, 31)
			for i := range set {
				set[i] = "D"
			}
			r.DimensionSets = [][]string{set}
		}, "more than 30"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := base()
			c.modify(&r)
			_, err := r.Encode()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Encode() error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name, line string
		ok         bool
	}{
		{"minimal", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]},"M":1}`, true},
		{"array value", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"M":[1,2]}`, true},
		{"storage resolution", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M","StorageResolution":1}]}]},"M":1}`, true},
		{"bad storage resolution", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M","StorageResolution":5}]}]},"M":1}`, false},
		{"not JSON", `request received`, false},
		{"no _aws", `{"M":1}`, false},
		{"no timestamp", `{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]},"M":1}`, false},
		{"fractional timestamp", `{"_aws":{"Timestamp":1.5,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]},"M":1}`, false},
		{"no directive", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"M":1}`, false},
		{"no dimensions member", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Metrics":[{"Name":"M"}]}]},"M":1}`, false},
		{"metric value missing", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]}}`, false},
		{"metric value null", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]},"M":null}`, false},
		{"metric value string", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]},"M":"1"}`, false},
		{"dimension value number", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M"}]}]},"D":3,"M":1}`, false},
		{"trailing text", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]},"M":1} more`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := Validate([]byte(c.line)); (err == nil) != c.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// FuzzEmitterRecordsAreEMF: whatever a request carries, its record is one valid EMF line
// with the pinned namespace, dimension sets and metrics.
func FuzzEmitterRecordsAreEMF(f *testing.F) {
	f.Add("fn", "Custom::SysdigProvider", "Create", "SUCCESS", "req-1", "Provider", "arn:aws:cloudformation:us-east-1:1:stack/s/x", int64(3), int64(1), int64(120))
	f.Add("", "", "", "", "", "", "", int64(0), int64(0), int64(0))
	f.Add("é", "Custom::💥", "Explode", "\x00", strings.Repeat("x", 2000), "\n", "\"}", int64(-1), int64(1<<40), int64(-5))
	f.Fuzz(func(t *testing.T, function, resourceType, requestType, outcome, requestID, logicalID, stackID string, calls, throttled, ms int64) {
		var b strings.Builder
		e := NewEmitter(&b, function, WithClock(func() time.Time { return t0 }))
		r := NewRecorder(t0.Add(-time.Second))
		for i := range min(max(calls, 0), 20) {
			status := 200
			if i < throttled {
				status = 429
			}
			r.SysdigCall(time.Duration(ms)*time.Millisecond, status)
		}
		ok, err := e.Emit(r, Request{resourceType, requestType, outcome, requestID, logicalID, stackID})
		if err != nil || !ok {
			t.Fatalf("Emit() = %v, %v", ok, err)
		}
		line := strings.TrimSuffix(b.String(), "\n")
		if strings.Contains(line, "\n") {
			t.Fatalf("more than one line: %q", b.String())
		}
		if err := Validate([]byte(line)); err != nil {
			t.Fatalf("%v\n%s", err, line)
		}
		checkPinned(t, line)
	})
}

// checkPinned asserts the names INTERFACES.md pins.
func checkPinned(t *testing.T, line string) {
	t.Helper()
	var doc struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	if err := json.Unmarshal([]byte(line), &doc); err != nil || len(doc.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("record %s: %v", line, err)
	}
	d := doc.AWS.CloudWatchMetrics[0]
	sets, _ := json.Marshal(d.Dimensions)
	metrics, _ := json.Marshal(d.Metrics)
	if d.Namespace != "SysdigAwsConnect" ||
		string(sets) != `[["Function","ResourceType","RequestType","Outcome"],["Function","Outcome"],["Function"]]` ||
		string(metrics) != `[{"Name":"Requests","Unit":"Count"},{"Name":"SysdigCalls","Unit":"Count"},{"Name":"ThrottledCalls","Unit":"Count"},{"Name":"SysdigTime","Unit":"Milliseconds"},{"Name":"TotalTime","Unit":"Milliseconds"}]` {
		t.Errorf("directive %s %s %s differs from the pinned one", d.Namespace, sets, metrics)
	}
}
