package rolearn_test

import (
	"strings"
	"testing"

	"sysdig-aws-connect/internal/rolearn"
)

func TestParse(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		in   string
		want rolearn.ARN
		ok   bool
	}{
		{"arn:aws:iam::123456789012:role/sysdig", rolearn.ARN{"aws", "123456789012", "/", "sysdig"}, true},
		{"arn:aws:iam::123456789012:role/team/sysdig/Sysdig-Role_1", rolearn.ARN{"aws", "123456789012", "/team/sysdig/", "Sysdig-Role_1"}, true},
		{"arn:aws-cn:iam::123456789012:role/a+b=c,d.e@f-g", rolearn.ARN{"aws-cn", "123456789012", "/", "a+b=c,d.e@f-g"}, true},
		{"arn:aws-us-gov:iam::123456789012:role/" + long, rolearn.ARN{"aws-us-gov", "123456789012", "/", long}, true},
		{"arn:aws-iso-b:iam::123456789012:role/x", rolearn.ARN{"aws-iso-b", "123456789012", "/", "x"}, true},
		{"arn:aws-eusc:iam::123456789012:role/x", rolearn.ARN{"aws-eusc", "123456789012", "/", "x"}, true},

		{"arn:aws:iam::123456789012:role/arn:aws:iam::999999999999:role/x", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:rolex", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role/", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role/a/", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role//x", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role/a b", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role/p*q/x", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role/" + long + "a", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role/" + strings.Repeat("p/", 300) + "x", rolearn.ARN{}, false},
		{"arn:aws:iam::12345678901:role/x", rolearn.ARN{}, false},
		{"arn:aws:iam::1234567890123:role/x", rolearn.ARN{}, false},
		{"arn:aws:iam:us-east-1:123456789012:role/x", rolearn.ARN{}, false},
		{"arn:aws:sts::123456789012:assumed-role/x/y", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:user/x", rolearn.ARN{}, false},
		{"arn:awsx:iam::123456789012:role/x", rolearn.ARN{}, false},
		{" arn:aws:iam::123456789012:role/x", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role/x\n", rolearn.ARN{}, false},
		{"arn:aws:iam::123456789012:role/x|y", rolearn.ARN{}, false},
		{"", rolearn.ARN{}, false},
	}
	for _, tt := range tests {
		got, err := rolearn.Parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
		if err != nil && !strings.Contains(err.Error(), "is not an IAM role ARN") {
			t.Errorf("error %q", err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("arn:aws:iam::123456789012:role/team/x")
	f.Add("arn:aws:iam::123456789012:role/arn:aws:iam::999999999999:role/x")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := rolearn.Parse(s)
		if err != nil {
			return
		}
		// What parses is exactly what it says: one account, no ARN inside.
		if a.String() != s || strings.Count(s, ":") != 5 || strings.Count(s, "arn:") != 1 {
			t.Fatalf("Parse(%q) = %+v", s, a)
		}
	})
}
