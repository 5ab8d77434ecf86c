package localdynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/dedupe"
)

func start(t *testing.T) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The server listens on loopback only, and Close ends it.
func TestLoopbackOnlyAndClose(t *testing.T) {
	s := start(t)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL)
	}
	addr := strings.TrimPrefix(s.URL, "http://")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err != nil {
		t.Fatal(err)
	} else {
		_ = c.Close()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Fatal("still listening after Close")
	}
}

func TestMissingInstallSaysWhatToRun(t *testing.T) {
	if _, _, err := Paths(t.TempDir()); err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("Paths on an empty directory: %v", err)
	}
}

// TestAWSCLI checks the server with an independent client, the awscli: the table as the
// deployer defines it, the conditional write the store relies on, and a record the store
// wrote through the Go SDK read back by the CLI.
func TestAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws (awscli) is not on PATH; install the Debian package awscli to run this test")
	}
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	env := []string{
		"AWS_ACCESS_KEY_ID=AKIDCLI", "AWS_SECRET_ACCESS_KEY=cli-secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "HOME=" + home,
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	aws := func(args ...string) (string, string, error) {
		cmd := exec.CommandContext(ctx, awsPath, append(append([]string{"dynamodb"}, args...), "--endpoint-url", s.URL, "--output", "json")...)
		cmd.Env = env
		cmd.WaitDelay = 5 * time.Second
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	const table = "sysdig-idempotency"
	if _, stderr, err := aws("create-table", "--table-name", table,
		"--attribute-definitions", "AttributeName="+dedupe.AttrKey+",AttributeType=S",
		"--key-schema", "AttributeName="+dedupe.AttrKey+",KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST"); err != nil {
		t.Fatalf("create-table: %v: %s", err, stderr)
	}
	if _, stderr, err := aws("wait", "table-exists", "--table-name", table); err != nil {
		t.Fatalf("wait: %v: %s", err, stderr)
	}
	put := []string{"put-item", "--table-name", table, "--item", `{"pk":{"S":"cli"},"state":{"S":"IN_PROGRESS"}}`,
		"--condition-expression", "attribute_not_exists(pk)"}
	if _, stderr, err := aws(put...); err != nil {
		t.Fatalf("first conditional put: %v: %s", err, stderr)
	}
	if _, stderr, err := aws(put...); err == nil || !strings.Contains(stderr, "ConditionalCheckFailedException") {
		t.Fatalf("second conditional put: %v: %s; want ConditionalCheckFailedException", err, stderr)
	}

	store := dedupe.NewDynamoDB(s.Client(), table)
	key := dedupe.Key{StackID: "arn:aws:cloudformation:us-east-1:100000000001:stack/s/guid", LogicalResourceID: "SysdigProvider", RequestID: "req-cli"}
	now := time.Now()
	if _, ok, err := store.Acquire(ctx, dedupe.Record{Key: key, Owner: "o", LeaseUntil: now.Add(time.Minute),
		ResponseURLHash: dedupe.HashURL("https://r"), Expires: now.Add(time.Hour)}, now); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := store.Answer(ctx, key, "o", []byte(`{"Status":"SUCCESS"}`)); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := aws("get-item", "--table-name", table, "--consistent-read", "--key", `{"pk":{"S":"`+key.ID()+`"}}`)
	if err != nil {
		t.Fatalf("get-item: %v: %s", err, stderr)
	}
	var out struct {
		Item map[string]map[string]string
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("get-item output %q: %v", stdout, err)
	}
	if out.Item["state"]["S"] != "ANSWERED" || out.Item["request_id"]["S"] != "req-cli" || out.Item["answer"]["B"] != "eyJTdGF0dXMiOiJTVUNDRVNTIn0=" ||
		out.Item[dedupe.AttrExpires]["N"] == "" {
		t.Fatalf("item %v", out.Item)
	}
}
