// Package metrics writes CloudWatch metrics as Embedded Metric Format (EMF) records: one
// JSON object per log line, which CloudWatch Logs turns into metrics on its own, with no
// agent and no API call. It also keeps the per-request figures (Recorder) and reads the
// records back (Summarize) for local runs.
//
// EMF: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units the records use.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Limits of the EMF specification and of CloudWatch, checked by Encode and Validate.
const (
	maxDimensionsPerSet = 30
	maxMetrics          = 100
	maxNameLen          = 255
	maxDimensionValue   = 1024
	maxValuesPerMetric  = 100
	maxNamespaceLen     = 255
)

// Property is a top-level member of a record: a dimension's value or a searchable field.
type Property struct{ Name, Value string }

// Metric is one value of a record.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Record is one EMF log line: Dimensions are the dimension values; DimensionSets say
// which combinations CloudWatch aggregates by (every name must be one of Dimensions);
// Fields are further members, searchable in Logs Insights but not dimensions.
type Record struct {
	Namespace     string
	Time          time.Time
	DimensionSets [][]string
	Dimensions    []Property
	Metrics       []Metric
	Fields        []Property
}

// Encode returns the record as one line of JSON (no newline), or why it would not be a
// valid EMF record.
func (r Record) Encode() ([]byte, error) {
	seen := map[string]bool{"_aws": true}
	member := func(name string) error {
		if name == "" || seen[name] {
			return fmt.Errorf("emf: member %q is empty or repeated", name)
		}
		seen[name] = true
		return nil
	}
	var b bytes.Buffer
	b.WriteString(`{"_aws":{"Timestamp":`)
	b.WriteString(strconv.FormatInt(r.Time.UnixMilli(), 10))
	b.WriteString(`,"CloudWatchMetrics":[{"Namespace":`)
	writeString(&b, r.Namespace)
	b.WriteString(`,"Dimensions":`)
	sets, _ := json.Marshal(r.DimensionSets)
	b.Write(sets)
	b.WriteString(`,"Metrics":[`)
	for i, m := range r.Metrics {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Name":`)
		writeString(&b, m.Name)
		if m.Unit != "" {
			b.WriteString(`,"Unit":`)
			writeString(&b, string(m.Unit))
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}]}`)
	for _, p := range append(append([]Property(nil), r.Dimensions...), r.Fields...) {
		if err := member(p.Name); err != nil {
			return nil, err
		}
		b.WriteByte(',')
		writeString(&b, p.Name)
		b.WriteByte(':')
		writeString(&b, p.Value)
	}
	for _, m := range r.Metrics {
		if err := member(m.Name); err != nil {
			return nil, err
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			return nil, fmt.Errorf("emf: metric %s is %v, not a number CloudWatch accepts", m.Name, m.Value)
		}
		b.WriteByte(',')
		writeString(&b, m.Name)
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(m.Value, 'f', -1, 64))
	}
	b.WriteByte('}')
	if err := Validate(b.Bytes()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeString(b *bytes.Buffer, s string) {
	out, _ := json.Marshal(s) // a string always encodes
	b.Write(out)
}

// units CloudWatch accepts (EMF MetricDefinition.Unit).
var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

type directive struct {
	Namespace  *string            `json:"Namespace"`
	Dimensions [][]string         `json:"Dimensions"`
	Metrics    []metricDefinition `json:"Metrics"`
}

type metricDefinition struct {
	Name              *string `json:"Name"`
	Unit              *string `json:"Unit"`
	StorageResolution *int    `json:"StorageResolution"`
}

// IsRecord tells whether a log line is meant as an EMF record (a JSON object with an _aws
// member), valid or not.
func IsRecord(line []byte) bool {
	var root map[string]json.RawMessage
	if json.Unmarshal(line, &root) != nil {
		return false
	}
	_, ok := root["_aws"]
	return ok
}

// Validate checks a log line against the EMF specification and CloudWatch's limits: one
// JSON object; _aws with an integer Timestamp (milliseconds) and at least one directive;
// each directive with a Namespace, dimension sets of at most 30 names each naming a
// string member, and 1 to 100 metrics each naming a member that is a number or an array
// of at most 100 numbers.
func Validate(line []byte) error {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return fmt.Errorf("emf: not one JSON object: %w", err)
	}
	raw, ok := root["_aws"]
	if !ok {
		return fmt.Errorf("emf: no _aws member")
	}
	var meta struct {
		Timestamp         *json.Number `json:"Timestamp"`
		CloudWatchMetrics []directive  `json:"CloudWatchMetrics"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&meta); err != nil {
		return fmt.Errorf("emf: _aws: %w", err)
	}
	if meta.Timestamp == nil {
		return fmt.Errorf("emf: _aws.Timestamp is missing")
	}
	if ts, err := meta.Timestamp.Int64(); err != nil || ts < 0 {
		return fmt.Errorf("emf: _aws.Timestamp %s is not whole milliseconds since the epoch", meta.Timestamp.String())
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return fmt.Errorf("emf: _aws.CloudWatchMetrics is empty")
	}
	for i, d := range meta.CloudWatchMetrics {
		if err := validateDirective(root, d); err != nil {
			return fmt.Errorf("emf: CloudWatchMetrics[%d]: %w", i, err)
		}
	}
	return nil
}

func validateDirective(root map[string]json.RawMessage, d directive) error {
	if d.Namespace == nil || *d.Namespace == "" || len(*d.Namespace) > maxNamespaceLen || !printableASCII(*d.Namespace) || strings.HasPrefix(*d.Namespace, "AWS/") {
		return fmt.Errorf("Namespace must be 1 to %d printable ASCII characters, not under AWS/", maxNamespaceLen)
	}
	if d.Dimensions == nil {
		return fmt.Errorf("Dimensions is missing")
	}
	for _, set := range d.Dimensions {
		if len(set) > maxDimensionsPerSet {
			return fmt.Errorf("a dimension set has %d names, more than %d", len(set), maxDimensionsPerSet)
		}
		for _, name := range set {
			if err := checkName(name); err != nil {
				return fmt.Errorf("dimension %w", err)
			}
			var v string
			if err := json.Unmarshal(root[name], &v); err != nil || root[name] == nil {
				return fmt.Errorf("dimension %s has no string member", name)
			}
			if v == "" || len(v) > maxDimensionValue || !printableASCII(v) || strings.TrimSpace(v) == "" {
				return fmt.Errorf("dimension %s = %q: values are 1 to %d printable ASCII characters", name, v, maxDimensionValue)
			}
		}
	}
	if len(d.Metrics) == 0 || len(d.Metrics) > maxMetrics {
		return fmt.Errorf("%d metrics: a directive has 1 to %d", len(d.Metrics), maxMetrics)
	}
	for _, m := range d.Metrics {
		if m.Name == nil {
			return fmt.Errorf("a metric has no Name")
		}
		if err := checkName(*m.Name); err != nil {
			return fmt.Errorf("metric %w", err)
		}
		if m.Unit != nil && !units[*m.Unit] {
			return fmt.Errorf("metric %s: unit %q is not a CloudWatch unit", *m.Name, *m.Unit)
		}
		if r := m.StorageResolution; r != nil && *r != 1 && *r != 60 {
			return fmt.Errorf("metric %s: StorageResolution is 1 or 60, not %d", *m.Name, *r)
		}
		if err := checkValue(*m.Name, root[*m.Name]); err != nil {
			return err
		}
	}
	return nil
}

func checkName(name string) error {
	if name == "" || len(name) > maxNameLen || !printableASCII(name) {
		return fmt.Errorf("name %q: 1 to %d printable ASCII characters", name, maxNameLen)
	}
	return nil
}

// checkValue: a metric's member is a number or an array of at most 100 numbers.
func checkValue(name string, raw json.RawMessage) error {
	if raw == nil || string(bytes.TrimSpace(raw)) == "null" {
		return fmt.Errorf("metric %s has no member", name)
	}
	var n float64
	if json.Unmarshal(raw, &n) == nil {
		return nil
	}
	var ns []float64
	if json.Unmarshal(raw, &ns) == nil && len(ns) > 0 && len(ns) <= maxValuesPerMetric {
		return nil
	}
	return fmt.Errorf("metric %s is %s: a number or an array of 1 to %d numbers", name, raw, maxValuesPerMetric)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
