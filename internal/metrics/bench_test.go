package metrics

import (
	"io"
	"testing"
	"time"
)

// The cost of the record a request leaves: emitting it (build, encode, validate, write)
// against validating an encoded record alone, to see what share of it the check of every
// record against the EMF specification takes; compare the two within one run.
func BenchmarkEmit(b *testing.B) {
	e := NewEmitter(io.Discard, "SysdigAwsConnect-ConnectorFunction", WithResourceTypes("Custom::SysdigProvider", "Custom::SysdigExternalId"))
	req := Request{ResourceType: "Custom::SysdigProvider", RequestType: "Create", Outcome: string(Success),
		RequestID: "5f0c2f8e-1111-2222-3333-444455556666", LogicalResourceID: "SysdigProvider",
		StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/SysdigAwsConnect/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}
	b.Run("emit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := NewRecorder(time.Now())
			r.SysdigCall(time.Millisecond, 201)
			if _, err := e.Emit(r, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("validate_only", func(b *testing.B) {
		line, err := e.Record(NewRecorder(time.Now()), req).Encode()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := Validate(line); err != nil {
				b.Fatal(err)
			}
		}
	})
}
