package sysdig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxMessageLen caps the message kept from an error body, in bytes.
const maxMessageLen = 512

// APIError is an HTTP answer outside 2xx from the Sysdig API.
type APIError struct {
	// Method and Path identify the request; Path is the API path without
	// the base URL (for example /api/providers/7).
	Method, Path string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Type and Message come from the error body (see ParseErrorBody).
	Type, Message string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

// Error renders the error as
// "sysdig: POST /api/providers: 409 Conflict: <message>", with a hint on
// what to do for authentication and authorization failures.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("sysdig: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(fmt.Sprintf("%d", e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteByte(' ')
		b.WriteString(text)
	}
	msg := e.Message
	if text := http.StatusText(e.StatusCode); text != "" {
		// {"errors":[{"reason":"Not Found",…}]} repeats the status text.
		msg = strings.TrimPrefix(msg, text+": ")
	}
	if e.Type != "" && e.Type != http.StatusText(e.StatusCode) && !strings.Contains(msg, e.Type) {
		if msg == "" {
			msg = e.Type
		} else {
			msg = e.Type + ": " + msg
		}
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		b.WriteString(" (the API token was rejected: use a current Sysdig Monitor API token of an administrator, from Settings > User Profile > Sysdig Monitor API)")
	case http.StatusForbidden:
		b.WriteString(" (the token is not allowed to do this: the token must be a Sysdig Monitor administrator's API token)")
	case http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			b.WriteString(fmt.Sprintf(" (server asked to retry after %s)", e.RetryAfter))
		}
	}
	return b.String()
}

func statusOf(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is (or wraps) an APIError with status 404.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is (or wraps) an APIError with status 409.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsAuth reports whether err is (or wraps) an APIError with status 401 or 403:
// the token is wrong, expired or not an administrator's.
func IsAuth(err error) bool {
	s := statusOf(err)
	return s == http.StatusUnauthorized || s == http.StatusForbidden
}

// ParseErrorBody reads an error body in any of the shapes Sysdig answers
// (sysdig-api.md, "Errors"):
//
//	{"errors":[{"reason":"…","message":"…"}, …]}   all entries are joined
//	{"message":"…"}
//	{"error":"…"} or {"error":{"message":"…", …}}
//	{"type":"…","message":"…","details":[…]}
//
// Anything else (HTML from a proxy, plain text) gives its printable prefix.
// The message is capped at about 512 bytes.
func ParseErrorBody(body []byte) (typ, message string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "", ""
	}
	if trimmed[0] == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err == nil {
			typ, message = parseErrorObject(obj)
			if typ != "" || message != "" {
				return capText(typ, 128), capText(message, maxMessageLen)
			}
		}
	}
	return "", capText(printable(string(trimmed)), maxMessageLen)
}

func parseErrorObject(obj map[string]json.RawMessage) (typ, message string) {
	var parts []string
	// {"errors":[{"reason","message"}]} (TF client, python SDK).
	if raw, ok := obj["errors"]; ok {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil {
			for _, item := range list {
				var e map[string]json.RawMessage
				if json.Unmarshal(item, &e) != nil {
					if s := jsonText(item); s != "" {
						parts = append(parts, s)
					}
					continue
				}
				reason, msg := jsonText(e["reason"]), jsonText(e["message"])
				if typ == "" {
					typ = reason
				}
				switch {
				case reason != "" && msg != "" && reason != msg:
					parts = append(parts, reason+": "+msg)
				case msg != "":
					parts = append(parts, msg)
				case reason != "":
					parts = append(parts, reason)
				}
			}
		}
	}
	msg := jsonText(obj["message"])
	if t := jsonText(obj["type"]); t != "" {
		typ = t
	}
	// {"error":"…"} or {"error":{…}}; Spring's default body also carries
	// "error" (the status text) next to "message".
	if raw, ok := obj["error"]; ok {
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) == nil {
			it, im := parseErrorObject(inner)
			if typ == "" {
				typ = it
			}
			if im != "" {
				parts = append(parts, im)
			}
		} else if s := jsonText(raw); s != "" {
			if msg == "" {
				parts = append(parts, s)
			} else if typ == "" {
				typ = s
			}
		}
	}
	if msg != "" {
		parts = append(parts, msg)
	}
	if raw, ok := obj["details"]; ok {
		var details []json.RawMessage
		if json.Unmarshal(raw, &details) == nil {
			var ds []string
			for _, d := range details {
				if s := jsonText(d); s != "" {
					ds = append(ds, s)
				}
			}
			if len(ds) > 0 {
				parts = append(parts, "details: "+strings.Join(ds, ", "))
			}
		}
	}
	return typ, strings.Join(parts, "; ")
}

// jsonText renders a JSON value as text: strings unquoted, objects with a
// "message" as that message, anything else compact.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return printable(s)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		if m := jsonText(obj["message"]); m != "" {
			if f := jsonText(obj["field"]); f != "" {
				return f + ": " + m
			}
			return m
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return printable(capText(buf.String(), maxMessageLen))
	}
	return printable(string(raw))
}

// printable replaces control characters and collapses runs of white space.
func printable(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// capText cuts s to at most n bytes on a rune boundary, marking the cut.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
