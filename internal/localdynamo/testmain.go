package localdynamo

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestMain is a package's TestMain for tests against a local DynamoDB: it starts one,
// puts it in *s, runs the tests, stops it and exits with their status. who names the
// package when the server cannot start.
func TestMain(m *testing.M, who string, s **Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	srv, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, who+":", err)
		os.Exit(1)
	}
	*s = srv
	code := m.Run()
	_ = srv.Close()
	os.Exit(code)
}
