package sysdig

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeStatusMessage(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"none", `{"status":"configured","lastProviderMessages":[]}`, ""},
		{"objects, last wins", `{"status":"error","lastProviderMessages":[{"message":"old"},{"message":"AccessDenied"}]}`, "AccessDenied"},
		{"strings", `{"lastProviderMessages":["a","b"]}`, "b"},
		{"text field", `{"lastProviderMessages":[{"text":"t"}]}`, "t"},
		{"v2 plain status", `"configured"`, ""},
		{"missing", ``, ""},
		{"null", `null`, ""},
		{"odd shape", `{"lastProviderMessages":{"message":"x"}}`, ""},
		{"number", `{"lastProviderMessages":[7]}`, ""},
		{"control characters", `{"lastProviderMessages":["bad\u001b[31m\nline"]}`, "bad [31m line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodeStatusMessage(json.RawMessage(tc.raw)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	p, err := DecodeProvider(V1, []byte(`{"provider":{"id":7,"credentials":{"role":"arn:aws:iam::123456789012:role/r"},"alias":"a","status":{"status":"error","lastProviderMessages":[{"message":"cannot assume"}]}}}`))
	if err != nil || p.Status != "error" || p.Message != "cannot assume" {
		t.Fatalf("DecodeProvider: %+v %v", p, err)
	}
}

func FuzzDecodeStatusMessage(f *testing.F) {
	for _, s := range []string{`{"lastProviderMessages":[{"message":"x"}]}`, `"s"`, `{"lastProviderMessages":["a"]}`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := decodeStatusMessage(json.RawMessage(raw))
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\n\r\x1b") || utf8.RuneCountInString(got) > 501 {
			t.Fatalf("message %q from %q", got, raw)
		}
	})
}
