package operator

import (
	"net/url"
	"sysdig-aws-connect/internal/permissions"
	"testing"
)

func TestParseTrustShapes(t *testing.T) {
	for _, tc := range []struct {
		doc        string
		principals int
	}{
		{`{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::1:root"}}]}`, 1},
		{url.QueryEscape(`{"Statement":{"Effect":"Allow","Action":["sts:AssumeRole"],"Principal":{"AWS":["a","b"]}}}`), 1},
		{`{"Statement":[]}`, 0},
	} {
		st, err := parseTrust(tc.doc)
		if err != nil || len(st) != tc.principals {
			t.Errorf("%s: %d statements, %v", tc.doc, len(st), err)
		}
	}
	for _, bad := range []string{"", "not json", `{"Statement":"x"}`} {
		if _, err := parseTrust(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Any document: statements or an error, never a panic.
func FuzzParseTrust(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::1:root"},"Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}`)
	f.Add(`%7B%22Statement%22%3A%5B%5D%7D`)
	f.Add(`{"Statement":{"Principal":"*"}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		st, err := parseTrust(doc)
		if err != nil {
			return
		}
		for _, s := range st {
			_ = permissions.StringOrList(s.Action)
			_ = permissions.StringOrList(s.Principal)
		}
	})
}
