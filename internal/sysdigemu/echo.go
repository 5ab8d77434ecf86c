package sysdigemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// echoForms are the ways a Fault's Echo sends the Authorization header back:
//
//	header        raw, in an error body ({"message":"… Authorization: Bearer …"}); with a
//	              BodySize above 64 KiB, white space before it makes it straddle byte
//	              65,536, where the client cuts error bodies
//	json-escaped  every character \u-escaped, in an error body's message
//	percent       percent-encoded, in an HTML page of the kind a proxy answers
//	id            a 200 answer whose provider id is the token
//	alias         a 200 answer whose provider alias holds the token
//
// Error forms use the fault's first status (400 when it has none).
var echoForms = []string{"header", "json-escaped", "percent", "id", "alias"}

// echoCut is where the client cuts an error body (sysdig.maxErrorBodyBytes).
const echoCut = 64 << 10

func validEcho(form string) bool { return form == "" || slices.Contains(echoForms, form) }

func (s *Server) echo(w http.ResponseWriter, r *http.Request, f Fault, status int) {
	header := r.Header.Get("Authorization")
	token := strings.TrimPrefix(header, "Bearer ")
	if status == 0 {
		status = http.StatusBadRequest
	}
	var body []byte
	contentType := "application/json"
	switch f.Echo {
	case "header":
		body, _ = json.Marshal(map[string]string{"message": "rejected header Authorization: " + header})
		if f.BodySize > echoCut {
			// White space before the JSON (valid, and what a padded answer looks like)
			// puts the token 10 bytes before the cut, where the client's message, the
			// body's first bytes, shows it.
			pad := echoCut - 10 - len(`{"message":"rejected header Authorization: Bearer `)
			body = append(bytes.Repeat([]byte(" "), max(pad, 0)), body...)
		}
		if f.BodySize > len(body) {
			body = append(body[:len(body)-1], append(bytes.Repeat([]byte(" "), f.BodySize-len(body)), '}')...)
		}
	case "json-escaped":
		var b strings.Builder
		for _, c := range token {
			fmt.Fprintf(&b, `\u%04x`, c)
		}
		body = []byte(`{"errors":[{"reason":"Bad Request","message":"invalid token Bearer ` + b.String() + `"}]}`)
	case "percent":
		contentType = "text/html"
		var b strings.Builder
		for _, c := range []byte(token) {
			fmt.Fprintf(&b, "%%%02X", c)
		}
		body = []byte("<html><body><h1>400 Bad Request</h1><p>Request https://proxy.example/login?auth=" + b.String() + " refused; header " + url.QueryEscape(header) + "</p></body></html>")
	case "id", "alias":
		p := map[string]any{"id": 7, "name": "aws", "credentials": map[string]any{"role": "arn:aws:iam::123456789012:role/x"}, "status": map[string]any{"status": "configured"}}
		if f.Echo == "id" {
			p["id"] = token
		} else {
			p["alias"] = "echo " + token
		}
		body, _ = json.Marshal(map[string]any{"provider": p})
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
