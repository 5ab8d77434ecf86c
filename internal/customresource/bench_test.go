package customresource

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
)

// Encoding a response with a Reason that must be cut (binary search over the JSON
// encoding) against one that fits as it is; compare the two within one run.
func BenchmarkEncodeResponse(b *testing.B) {
	base := Response{Status: cfn.StatusFailed, RequestID: "r", LogicalResourceID: "SysdigProvider",
		StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g", PhysicalResourceID: "sysdig-provider|none|r"}
	for _, c := range []struct {
		name   string
		reason string
	}{
		{"fits", "register role arn:aws:iam::123456789012:role/sysdig-role with Sysdig: 409 Conflict"},
		{"cut_20KB", strings.Repeat("sysdig said <no> & \"why\" ", 800)},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := base
			r.Reason = c.reason
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeResponse(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Decoding a request as CloudFormation sends it against the same request wrapped in SNS.
func BenchmarkDecode(b *testing.B) {
	direct := request("https://bucket.s3.amazonaws.com/x?X-Amz-Signature=s", cfn.RequestUpdate)
	for _, c := range []struct {
		name    string
		payload []byte
	}{{"direct", direct}, {"sns", snsWrap(direct)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Decode(c.payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The ResponseURL rule on CloudFormation's regional host, path style, and a refused host.
func BenchmarkCheckResponseURL(b *testing.B) {
	for _, c := range []struct{ name, url string }{
		{"regional", "https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com/arn%3Aaws%3Acloudformation/x?X-Amz-Signature=s"},
		{"path_style", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/x?X-Amz-Signature=s"},
		{"refused", "https://attacker.example/collect?X-Amz-Signature=s"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = CheckResponseURL(c.url, "us-east-1", false)
			}
		})
	}
}
