package localaws

import (
	"net/http"
	"strings"
	"testing"
)

func TestListen(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr string
	}{
		{addr: "127.0.0.1:0"},
		{addr: "[::1]:0"},
		{addr: "0.0.0.0:0", wantErr: "only loopback"},
		{addr: ":0", wantErr: "only loopback"},
		{addr: "localhost:0", wantErr: "only loopback"},
		{addr: "127.0.0.1", wantErr: "listen address"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			u, stop, err := Listen(tt.addr, http.NotFoundHandler())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					if err == nil {
						_ = stop()
					}
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				if strings.Contains(tt.addr, "::1") && strings.Contains(err.Error(), "cannot assign") {
					t.Skip("no IPv6 loopback on this machine")
				}
				t.Fatal(err)
			}
			resp, err := http.Get(u + "/x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("status %d", resp.StatusCode)
			}
			if err := stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
			if err := stop(); err != nil {
				t.Errorf("second stop: %v", err)
			}
			if _, err := http.Get(u + "/x"); err == nil {
				t.Error("server still answers after stop")
			}
		})
	}
}
