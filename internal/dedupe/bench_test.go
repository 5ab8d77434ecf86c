package dedupe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"sysdig-aws-connect/internal/customresource"
)

// What deduplication adds to a request, against the local DynamoDB (dynalite on
// loopback; DynamoDB's own latency is a few milliseconds per call): a first delivery is
// one conditional PutItem and one conditional UpdateItem; a duplicate after the answer is
// one conditional PutItem (plus a GetItem with dynalite, which does not return the item
// with the failed condition).
func BenchmarkFirstDelivery(b *testing.B) {
	d := New(benchStore(b))
	ctx := context.Background()
	body := []byte(`{"Status":"SUCCESS","PhysicalResourceId":"p"}`)
	b.ResetTimer()
	for i := range b.N {
		c, err := d.Claim(ctx, benchRequest(i), time.Now().Add(time.Minute))
		if err != nil || c.State != customresource.ClaimAcquired {
			b.Fatal(c.State, err)
		}
		if err := c.Complete(ctx, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDuplicateAfterTheAnswer(b *testing.B) {
	d := New(benchStore(b))
	ctx := context.Background()
	c, err := d.Claim(ctx, benchRequest(0), time.Now().Add(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Complete(ctx, []byte(`{"Status":"SUCCESS"}`)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		c, err := d.Claim(ctx, benchRequest(0), time.Now().Add(time.Minute))
		if err != nil || c.State != customresource.ClaimAnswered {
			b.Fatal(c.State, err)
		}
	}
}

func benchStore(b *testing.B) *DynamoDB {
	name := fmt.Sprintf("bench-%d", tables.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := server.CreateTable(ctx, CreateTableInput(name)); err != nil {
		b.Fatal(err)
	}
	return NewDynamoDB(server.Client(), name)
}

func benchRequest(i int) customresource.Request {
	return customresource.Request{StackID: "arn:aws:cloudformation:us-east-1:100000000001:stack/s/guid", LogicalResourceID: "SysdigProvider",
		RequestID: fmt.Sprintf("req-%d", i), ResponseURL: "https://example/r"}
}
