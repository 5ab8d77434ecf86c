package lambdarun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// EnvRIE names the environment variable that points at the runtime emulator binary
// (make exports it); without it the emulator is looked up at .tools/bin/aws-lambda-rie.
const EnvRIE = "SYSDIG_CONNECT_RIE"

// buildTimeout bounds a go build when the caller's context has no deadline.
const buildTimeout = 10 * time.Minute

// RepoRoot returns the directory holding the main module's go.mod, asking `go env GOMOD`
// and falling back to walking up from the working directory.
func RepoRoot() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	const maxDepth = 64
	for range maxDepth {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("no go.mod found in the working directory or above it")
}

// RIEPath returns the runtime emulator binary: $SYSDIG_CONNECT_RIE when set, else
// <repoRoot>/.tools/bin/aws-lambda-rie. It fails, saying how to install it, when the file
// is not an executable.
func RIEPath(repoRoot string) (string, error) {
	p := os.Getenv(EnvRIE)
	if p == "" {
		p = filepath.Join(repoRoot, ".tools", "bin", "aws-lambda-rie")
	}
	if err := checkExecutable(p); err != nil {
		return "", fmt.Errorf("Lambda runtime interface emulator: %w (run `make tools` to install it, or set %s)", err, EnvRIE)
	}
	return p, nil
}

func checkExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// BuildBootstrap builds the Lambda function in ./lambda for this machine's architecture,
// the way the release is built (static, lambda.norpc, trimmed paths), and returns the
// path of outDir/bootstrap.
func BuildBootstrap(ctx context.Context, repoRoot, outDir string) (string, error) {
	return Build(ctx, repoRoot, "./lambda", outDir)
}

// Build builds the main package pkg (relative to repoRoot, e.g. "./lambda") as
// outDir/bootstrap with CGO_ENABLED=0 -tags lambda.norpc -trimpath for this machine.
func Build(ctx context.Context, repoRoot, pkg, outDir string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, buildTimeout)
		defer cancel()
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(outDir, "bootstrap"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath",
		"-ldflags", "-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = repoRoot
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		// Build for this machine: the emulator runs the binary here.
		if !strings.HasPrefix(kv, "GOOS=") && !strings.HasPrefix(kv, "GOARCH=") && !strings.HasPrefix(kv, "CGO_ENABLED=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "CGO_ENABLED=0")
	cmd.WaitDelay = 10 * time.Second
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, output.String())
	}
	return out, nil
}
