package localaws

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func stsClient(url string) *sts.Client {
	return sts.New(sts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// The real SDK client reads the stand-in's answers and its errors.
func TestSTSWithTheRealSDK(t *testing.T) {
	s := NewSTS("210987654321", "arn:aws:iam::210987654321:user/ops")
	base, stop := s.Start()
	defer stop()
	out, err := stsClient(base).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "210987654321" || aws.ToString(out.Arn) != "arn:aws:iam::210987654321:user/ops" || aws.ToString(out.UserId) == "" {
		t.Errorf("identity = %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
	s.SetIdentity("111122223333", "arn:aws:sts::111122223333:assumed-role/admin/me")
	out, err = stsClient(base).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(out.Account) != "111122223333" {
		t.Fatalf("after SetIdentity: %v %v", out, err)
	}
	if got := s.Count("GetCallerIdentity"); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
	if reqs := s.Requests(); reqs[0].AccessKey != "AKIDLOCAL" || reqs[0].Status != http.StatusOK {
		t.Errorf("request log = %+v", reqs[0])
	}
}

func TestQueryServiceErrors(t *testing.T) {
	q := &QueryService{SigningName: "sts", XMLNS: "https://sts.amazonaws.com/doc/2011-06-15/", Actions: map[string]QueryAction{
		"GetCallerIdentity": func(url.Values) (any, error) {
			return nil, &QueryError{Status: http.StatusForbidden, Code: "AccessDenied", Message: "not you"}
		},
	}}
	base, stop := start(q)
	defer stop()
	_, err := stsClient(base).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || ae.ErrorMessage() != "not you" {
		t.Fatalf("err = %v, want AccessDenied: not you", err)
	}

	cases := []struct {
		name, auth, body, wantCode string
		wantStatus                 int
	}{
		{"no authorization", "", "Action=GetCallerIdentity", "MissingAuthenticationToken", http.StatusForbidden},
		{"not sigv4", "Basic abc", "Action=GetCallerIdentity", "IncompleteSignature", http.StatusForbidden},
		{"other service", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x", "Action=GetCallerIdentity", "SignatureDoesNotMatch", http.StatusForbidden},
		{"unknown action", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x", "Action=Nope", "InvalidAction", http.StatusBadRequest},
		{"bad form", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x", "Action=%zz", "MalformedQueryString", http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != c.wantStatus {
				t.Errorf("status = %d, want %d", res.StatusCode, c.wantStatus)
			}
			reqs := q.Requests()
			if got := reqs[len(reqs)-1].ErrorCode; got != c.wantCode {
				t.Errorf("error code = %q, want %q", got, c.wantCode)
			}
		})
	}
}
