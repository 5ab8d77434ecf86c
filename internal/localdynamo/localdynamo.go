// Package localdynamo runs a real DynamoDB-compatible server for tests and local runs:
// dynalite (an implementation of DynamoDB's JSON 1.0 protocol over an in-memory LevelDB),
// installed from npm by `make tools` and run by the project's pinned Node 22. It listens on
// 127.0.0.1 only and dies with the process that started it.
//
// dynalite implements the item and table operations the idempotency table needs
// (conditional PutItem and UpdateItem, consistent GetItem, CreateTable); it does not
// implement UpdateTimeToLive, so TTL expiry is AWS's business only.
package localdynamo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sysdig-aws-connect/internal/lambdarun"
)

const (
	startTimeout  = 30 * time.Second
	startAttempts = 3
	maxOutput     = 64 << 10
)

// Server is one running dynalite.
type Server struct {
	// URL is the endpoint: http://127.0.0.1:PORT (AWS_ENDPOINT_URL_DYNAMODB, or BaseEndpoint).
	URL string

	cmd     *exec.Cmd
	out     *capped
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

// Paths returns the Node binary and dynalite's CLI script under root/node_modules, or an
// error that says how to install them.
func Paths(root string) (node, cli string, err error) {
	node = filepath.Join(root, "node_modules", ".bin", "node")
	cli = filepath.Join(root, "node_modules", "dynalite", "cli.js")
	for _, p := range []string{node, cli} {
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("local DynamoDB: %s is missing; run `make tools` (it installs Node 22 and dynalite from package-lock.json)", p)
		}
	}
	return node, cli, nil
}

// Start launches dynalite on a free loopback port and waits, bounded by ctx and 30 s,
// until it accepts connections. Tables are created and deleted at once (no CREATING
// state to wait for).
func Start(ctx context.Context) (*Server, error) {
	root, err := lambdarun.RepoRoot()
	if err != nil {
		return nil, err
	}
	node, cli, err := Paths(root)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var errs []error
	for range startAttempts {
		s, retry, err := startOnce(ctx, node, cli)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func startOnce(ctx context.Context, node, cli string) (*Server, bool, error) {
	port, err := freePort()
	if err != nil {
		return nil, false, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{URL: "http://" + addr, out: &capped{}, exited: make(chan struct{})}
	// Not CommandContext: the server outlives Start's context; Close ends it.
	s.cmd = exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	s.cmd.Dir = filepath.Dir(cli)
	s.cmd.Env = []string{"PATH=" + filepath.Dir(node) + ":/usr/bin:/bin", "NODE_ENV=test"}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	s.cmd.WaitDelay = 2 * time.Second
	if err := s.cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start dynalite: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	const maxProbes = 3000
	var d net.Dialer
	for range maxProbes {
		select {
		case <-s.exited:
			out := s.out.String()
			return nil, strings.Contains(out, "EADDRINUSE"), fmt.Errorf("dynalite exited during start (%v): %s", s.waitErr, out)
		default:
		}
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		conn, err := d.DialContext(dctx, "tcp", addr)
		dcancel()
		if err == nil {
			_ = conn.Close()
			return s, false, nil
		}
		select {
		case <-ctx.Done():
			_ = s.Close()
			return nil, false, fmt.Errorf("dynalite not ready on %s: %w; its output: %s", addr, context.Cause(ctx), s.out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	_ = s.Close()
	return nil, false, fmt.Errorf("dynalite not ready on %s after %d probes", addr, maxProbes)
}

// Output is what dynalite printed (at most 64 KB).
func (s *Server) Output() string { return s.out.String() }

// Close kills the server and waits for it, bounded. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		if kerr := s.cmd.Process.Signal(syscall.SIGKILL); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
			err = fmt.Errorf("kill dynalite: %w", kerr)
		}
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			err = errors.Join(err, errors.New("dynalite not reaped within 10s"))
		}
	})
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// capped keeps the first maxOutput bytes written to it.
type capped struct {
	mu sync.Mutex
	b  []byte
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := maxOutput - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSpace(string(c.b))
}

// Client is a DynamoDB client of the real SDK for this server (static local credentials).
func (s *Server) Client() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCALDYNAMO", "local-dynamo-secret", ""),
		HTTPClient:   awshttp.NewBuildableClient().WithTimeout(10 * time.Second),
	})
}

// CreateTable creates a table, waits (at most 10 s) until it is ACTIVE, and returns its
// name.
func (s *Server) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput) (string, error) {
	name := aws.ToString(in.TableName)
	client := s.Client()
	if _, err := client.CreateTable(ctx, in); err != nil {
		return "", fmt.Errorf("create table %s in the local DynamoDB: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 100*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 10*time.Second); err != nil {
		return "", fmt.Errorf("table %s in the local DynamoDB: %w", name, err)
	}
	return name, nil
}
