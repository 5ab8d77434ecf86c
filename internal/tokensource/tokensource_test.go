package tokensource_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/tokensource"
)

const token = "e71d7c0f-501e-47d4-a159-39da8b716f44"

// newSource starts the local Secrets Manager and points the real SDK client at it.
func newSource(t *testing.T) (*tokensource.SecretsManager, *localaws.SecretsManager) {
	t.Helper()
	fake := localaws.NewSecretsManager("us-east-1", "123456789012")
	url, stop := fake.Start()
	t.Cleanup(stop)
	client := secretsmanager.New(secretsmanager.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		RetryMaxAttempts: 3,
	})
	return tokensource.NewSecretsManager(client), fake
}

func TestToken(t *testing.T) {
	cases := []struct {
		name    string
		stored  string
		inject  []string
		deny    bool
		lookup  string // defaults to the stored secret's name
		want    string
		wantErr string
	}{
		{name: "raw token", stored: token, want: token},
		{name: "raw token with newline", stored: token + "\n", want: token},
		{name: "json token", stored: `{"token":"` + token + `","note":"sysdig us1"}`, want: token},
		{name: "by arn", stored: token, lookup: "arn", want: token},
		{name: "throttled then served", stored: token, inject: []string{localaws.ErrThrottling}, want: token},
		{name: "not found", stored: token, lookup: "missing", wantErr: "secret missing not found: check ApiTokenSecretId"},
		{name: "access denied", stored: token, deny: true, wantErr: "allow the function's role secretsmanager:GetSecretValue"},
		{name: "decryption failure", stored: token, inject: []string{localaws.ErrDecryptionFailure}, wantErr: "kms:Decrypt"},
		{name: "throttled throughout", stored: token, inject: []string{localaws.ErrThrottling, localaws.ErrThrottling, localaws.ErrThrottling}, wantErr: "throttled"},
		{name: "json without token", stored: `{"apiKey":"x"}`, wantErr: `without a "token" field`},
		{name: "json token not string", stored: `{"token":42}`, wantErr: "not a string"},
		{name: "broken json", stored: `{"token":`, wantErr: "not valid JSON"},
		{name: "empty", stored: "   ", wantErr: "empty"},
		{name: "token with space", stored: "abc def", wantErr: "spaces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, fake := newSource(t)
			arn := fake.PutSecret("sysdig/api-token", tc.stored)
			lookup := "sysdig/api-token"
			switch tc.lookup {
			case "arn":
				lookup = arn
			case "missing":
				lookup = "missing"
			}
			if len(tc.inject) > 0 {
				fake.Inject(localaws.OpGetSecretValue, "", tc.inject...)
			}
			if tc.deny {
				fake.Deny(localaws.OpGetSecretValue, "")
			}
			got, err := src.Token(context.Background(), lookup)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), token) {
					t.Fatal("the error holds the token")
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Token = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEmptySecretIDMakesNoCall(t *testing.T) {
	src, fake := newSource(t)
	if _, err := src.Token(context.Background(), " "); err == nil || !strings.Contains(err.Error(), "ApiTokenSecretId") {
		t.Fatalf("error %v", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d requests", n)
	}
}

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{token, `{"token":"abc"}`, `{"token":""}`, `{"token":1}`, `{`, "", " \t\n", `{"token":"a b"}`, "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, secret string) {
		tok, err := tokensource.ParseSecret(secret)
		if err != nil {
			if tok != "" {
				t.Fatal("a token with an error")
			}
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") || len(tok) > 4096 {
			t.Fatalf("accepted token %q", tok)
		}
	})
}
