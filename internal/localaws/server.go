// Package localaws holds local stand-ins for the AWS endpoints the custom-resource Lambda
// talks to: Secrets Manager (the real AWS JSON 1.1 wire protocol, so the real SDK and the
// awscli work against it), the presigned S3 URL CloudFormation hands out as ResponseURL,
// the query-protocol services STS and CloudFormation (DescribeStackInstance, ListStackInstances,
// DescribeStacks), and AWS Organizations (JSON 1.1). Everything listens on 127.0.0.1 only.
package localaws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownTimeout bounds how long a stop function waits for in-flight requests.
const shutdownTimeout = 5 * time.Second

// Listen serves h on addr, which must be a loopback address ("127.0.0.1:0" picks a free
// port). It returns the base URL ("http://127.0.0.1:PORT") and a stop function that shuts
// the server down, waiting at most a few seconds for in-flight requests.
func Listen(addr string, h http.Handler) (url string, stop func() error, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", nil, fmt.Errorf("listen address %q: only loopback IP addresses are allowed", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Long enough for the control API's longest wait.
		WriteTimeout: maxControlWait + time.Minute,
		IdleTimeout:  60 * time.Second,
	}
	// Connections that never carried a request (clients dial spares) would hold Shutdown
	// for seconds; stop closes them first.
	var connMu sync.Mutex
	fresh := map[net.Conn]struct{}{}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		connMu.Lock()
		defer connMu.Unlock()
		if st == http.StateNew {
			fresh[c] = struct{}{}
		} else {
			delete(fresh, c)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			srv.SetKeepAlivesEnabled(false)
			connMu.Lock()
			for c := range fresh {
				_ = c.Close()
			}
			connMu.Unlock()
			stopErr = shutdown(srv, done)
		})
		return stopErr
	}
	return "http://" + l.Addr().String(), stop, nil
}

func shutdown(srv *http.Server, done <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// start is Listen on a free loopback port, for tests and demos: it panics when no
// loopback port can be had, like net/http/httptest does.
func start(h http.Handler) (string, func()) {
	url, stop, err := Listen("127.0.0.1:0", h)
	if err != nil {
		panic(fmt.Sprintf("localaws: %v", err))
	}
	return url, func() { _ = stop() }
}
