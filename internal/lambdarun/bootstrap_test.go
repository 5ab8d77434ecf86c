package lambdarun

import (
	"context"
	"debug/elf"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/localaws"
)

// TestRealBootstrap builds the product's ./lambda with BuildBootstrap and runs it under
// the emulator against the local Secrets Manager and response catcher: the harness must
// carry a CloudFormation request in and the function's answer out, exactly once, with the
// ResponseURL's signature kept out of the logs.
func TestRealBootstrap(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bootstrap, err := BuildBootstrap(ctx, root, t.TempDir())
	if err != nil {
		t.Fatalf("BuildBootstrap: %v", err)
	}
	ef, err := elf.Open(bootstrap)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF executable: %v", err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("bootstrap has a dynamic loader; want a static binary (CGO_ENABLED=0)")
		}
	}
	ef.Close()

	sm := localaws.NewSecretsManager("us-east-1", "123456789012")
	secretARN := sm.PutSecret("sysdig/api-token", "local-token")
	smURL, stopSM := sm.Start()
	defer stopSM()
	catcher := localaws.NewResponseCatcher()
	_, stopCatcher := catcher.Start()
	defer stopCatcher()

	f, err := Start(ctx, Config{
		RIE: rie, Bootstrap: bootstrap, Timeout: 30 * time.Second,
		Env: map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": smURL},
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	const stackID = "arn:aws:cloudformation:us-east-1:123456789012:stack/harness/11111111-2222-4333-8444-555555555555"
	tests := []struct {
		name         string
		requestType  string
		resourceType string
		wantStatus   string
		wantReason   string
		deny         bool // Secrets Manager denies the token: the function must read it and fail
	}{
		{name: "unsupported resource type", requestType: "Create", resourceType: "Custom::NotServedHere", wantStatus: "FAILED", wantReason: "ResourceType"},
		{name: "token denied", requestType: "Create", resourceType: "Custom::SysdigExternalId", wantStatus: "FAILED", wantReason: "AccessDenied", deny: true},
	}
	var signatures []string
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requestID := "harness-" + string(rune('a'+i))
			if tt.deny {
				sm.Deny(localaws.OpGetSecretValue, secretARN)
				defer sm.Allow(localaws.OpGetSecretValue, secretARN)
			}
			before := sm.Count(localaws.OpGetSecretValue, secretARN)
			url, err := catcher.NewURLFor(localaws.Target{RequestID: requestID, StackID: stackID, LogicalResourceID: "Probe"})
			if err != nil {
				t.Fatal(err)
			}
			event, err := json.Marshal(map[string]any{
				"RequestType": tt.requestType, "RequestId": requestID, "ResponseURL": url,
				"StackId": stackID, "LogicalResourceId": "Probe", "ResourceType": tt.resourceType,
				"ResourceProperties": map[string]any{
					"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x", "ServiceTimeout": "300",
					"SysdigApiUrl": "http://127.0.0.1:1", "ApiTokenSecretId": secretARN,
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.InvokeWithID(ctx, "invoke-"+requestID, event); err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			resp, err := catcher.Wait(ctx, requestID)
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if resp.Status != tt.wantStatus || !strings.Contains(resp.Reason, tt.wantReason) || resp.RequestID != requestID {
				t.Errorf("answer %+v, want %s mentioning %q", resp, tt.wantStatus, tt.wantReason)
			}
			if got := sm.Count(localaws.OpGetSecretValue, secretARN) - before; tt.deny && got == 0 {
				t.Error("the function never asked Secrets Manager for the token")
			}
			if n := catcher.Answers(requestID); n != 1 {
				t.Errorf("%d answers, want exactly 1", n)
			}
			for _, a := range catcher.Attempts(requestID) {
				if a.ContentType != "" {
					t.Errorf("the function sent Content-Type %q to the presigned URL", a.ContentType)
				}
			}
			signatures = append(signatures, catcher.Signature(requestID))
		})
	}
	// Close first: it waits until every line the processes printed has been read.
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	logs := f.Logs()
	if len(logs) == 0 {
		t.Fatal("no log lines captured")
	}
	for _, sig := range signatures {
		for _, l := range logs {
			if strings.Contains(l, sig) {
				t.Errorf("a ResponseURL signature appears in the log: %s", l)
			}
		}
	}
}
