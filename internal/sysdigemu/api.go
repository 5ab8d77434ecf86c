package sysdigemu

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sysdig-aws-connect/internal/rolearn"
)

// writeError answers an error in the configured shape, padded to size bytes.
func (s *Server) writeError(w http.ResponseWriter, status int, reason, message string, size int) {
	var v any
	switch s.shape {
	case ShapeMessage:
		v = map[string]any{"message": message}
	case ShapeError:
		v = map[string]any{"error": message}
	case ShapeTypeMessage:
		v = map[string]any{"type": strings.ReplaceAll(strings.ToLower(reason), " ", "_"), "message": message, "details": []any{}}
	default:
		v = map[string]any{"errors": []map[string]string{{"reason": reason, "message": message}}}
	}
	b, _ := json.Marshal(v)
	if size > len(b) {
		// Pad inside the JSON (white space) so the body stays valid.
		b = append(b[:len(b)-1], append(bytes.Repeat([]byte(" "), size-len(b)), '}')...)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeJSONSized is writeJSON with Content-Length set.
func writeJSONSized(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// authorize checks the bearer token; write says whether the call modifies.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, write bool) bool {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	tok = strings.TrimSpace(tok)
	eq := func(a, b string) bool { return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	s.mu.Lock()
	current := s.token
	s.mu.Unlock()
	switch {
	case ok && eq(tok, current):
		return true
	case ok && eq(tok, s.readOnlyToken):
		if write {
			s.writeError(w, http.StatusForbidden, "Forbidden", "the user is not allowed to change providers: an administrator's token is required", 0)
			return false
		}
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="sysdig"`)
	s.writeError(w, http.StatusUnauthorized, "Unauthorized", "Bad credentials", 0)
	return false
}

var (
	accountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	sysdigRegion = regexp.MustCompile(`^[A-Z]{2}(_[A-Z]+)+_[0-9]{1,2}$`)
)

// serveAPI answers the Sysdig API routes.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, body []byte) {
	path := r.URL.Path
	switch {
	case path == "/api/users/me":
		if !s.methodIs(w, r, http.MethodGet) || !s.authorize(w, r, false) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": map[string]any{
			"id": 1, "username": "admin@example.com",
			"customer": map[string]any{"id": 1, "name": "emulator", "externalId": s.externalID},
		}})
	case path == "/api/v2/providers/info/awsCloudInformation":
		if s.noCloudInfo {
			s.writeError(w, http.StatusNotFound, "Not Found", "no handler for "+path, 0)
			return
		}
		if !s.methodIs(w, r, http.MethodGet) || !s.authorize(w, r, false) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"externalId": s.externalID, "awsSystemAccountId": s.awsAccount})
	case path == "/api/providers" || path == "/api/v2/providers":
		v := versionOf(path)
		switch r.Method {
		case http.MethodGet:
			if v == "v2" && s.noV2List {
				s.writeError(w, http.StatusNotFound, "Not Found", "no handler for GET "+path, 0)
				return
			}
			if s.authorize(w, r, false) {
				s.list(w, v)
			}
		case http.MethodPost:
			if s.authorize(w, r, true) {
				s.create(w, v, body)
			}
		default:
			s.notAllowed(w, "GET, POST")
		}
	case strings.HasPrefix(path, "/api/providers/") || strings.HasPrefix(path, "/api/v2/providers/"):
		v := versionOf(path)
		id := strings.TrimPrefix(strings.TrimPrefix(path, "/api/v2/providers/"), "/api/providers/")
		if id == "" || strings.Contains(id, "/") {
			s.writeError(w, http.StatusNotFound, "Not Found", "no handler for "+path, 0)
			return
		}
		switch r.Method {
		case http.MethodGet:
			if s.authorize(w, r, false) {
				s.get(w, v, id)
			}
		case http.MethodPut:
			if s.authorize(w, r, true) {
				s.update(w, v, id, body)
			}
		case http.MethodDelete:
			if s.authorize(w, r, true) {
				s.remove(w, v, id)
			}
		default:
			s.notAllowed(w, "GET, PUT, DELETE")
		}
	default:
		s.writeError(w, http.StatusNotFound, "Not Found", "no handler for "+path, 0)
	}
}

func versionOf(path string) string {
	if strings.HasPrefix(path, "/api/v2/") {
		return "v2"
	}
	return "v1"
}

func (s *Server) methodIs(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method != m {
		s.notAllowed(w, m)
		return false
	}
	return true
}

func (s *Server) notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	s.writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "method not allowed; allowed: "+allow, 0)
}

// wire renders a stored provider in the version's shape.
func wire(v string, p *provider) map[string]any {
	opts := ""
	if len(p.Regions) > 0 {
		b, _ := json.Marshal(map[string][]string{"regions": p.Regions})
		opts = string(b)
	}
	id, _ := strconv.Atoi(p.ID)
	if v == "v1" {
		m := map[string]any{
			"id":          id,
			"name":        "aws",
			"credentials": map[string]any{"id": p.Alias, "role": p.RoleARN},
			"tags":        []any{},
			"status":      map[string]any{"status": p.Status, "lastUpdate": nil, "percentage": 0, "lastProviderMessages": providerMessages(p)},
			"alias":       p.Alias,
		}
		if opts != "" {
			m["additionalOptions"] = opts
		}
		return m
	}
	account := ""
	if parts := strings.Split(p.RoleARN, ":"); len(parts) > 4 {
		account = parts[4]
	}
	return map[string]any{
		"id":              id,
		"platform":        "AWS",
		"integrationType": "API",
		// TF: GET returns roleName as the full ARN.
		"credentials":       map[string]any{"accountId": account, "roleName": p.RoleARN},
		"additionalOptions": opts,
		"alias":             p.Alias,  // ASSUMED
		"status":            p.Status, // ASSUMED: a plain string in v2
	}
}

// writeAnswer is the provider as create and update answer it.
func (s *Server) writeAnswer(v string, p *provider) map[string]any {
	w := wire(v, p)
	if s.noWriteStatus {
		delete(w, "status")
	}
	return w
}

// parsed is a validated create/update body.
type parsed struct {
	id      json.RawMessage
	role    string
	alias   string
	regions []string
}

// parseBody validates a create/update body like the real API would.
func parseBody(v string, body []byte) (parsed, string) {
	var out parsed
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return out, "the request body is not a JSON object"
	}
	out.id = raw["id"]
	str := func(key string) (string, bool) {
		b, ok := raw[key]
		if !ok || string(b) == "null" {
			return "", true
		}
		var s string
		return s, json.Unmarshal(b, &s) == nil
	}
	var creds map[string]json.RawMessage
	if b, ok := raw["credentials"]; !ok || json.Unmarshal(b, &creds) != nil || creds == nil {
		return out, "credentials: must be an object"
	}
	credStr := func(key string) string {
		var s string
		_ = json.Unmarshal(creds[key], &s)
		return strings.TrimSpace(s)
	}
	if v == "v1" {
		if name, ok := str("name"); !ok || name != "aws" {
			return out, `name: must be "aws"`
		}
		out.role = credStr("role")
		if out.role == "" {
			return out, "credentials.role: must not be empty"
		}
		if _, err := rolearn.Parse(out.role); err != nil {
			return out, "credentials.role: must be an IAM role ARN"
		}
	} else {
		if p, ok := str("platform"); !ok || p != "AWS" {
			return out, `platform: must be "AWS"`
		}
		if t, ok := str("integrationType"); !ok || (t != "API" && t != "Metrics Streams") {
			return out, `integrationType: must be "API" or "Metrics Streams"`
		}
		account, name := credStr("accountId"), credStr("roleName")
		if !accountRE.MatchString(account) {
			return out, "credentials.accountId: must be a 12-digit AWS account id"
		}
		if name == "" {
			return out, "credentials.roleName: must not be empty"
		}
		if !roleNameRE.MatchString(name) {
			return out, "credentials.roleName: must be a bare IAM role name"
		}
		out.role = "arn:aws:iam::" + account + ":role/" + name
	}
	alias, ok := str("alias")
	if !ok {
		return out, "alias: must be a string"
	}
	out.alias = alias
	if b, present := raw["additionalOptions"]; present && string(b) != "null" {
		var opts string
		if json.Unmarshal(b, &opts) != nil {
			return out, "additionalOptions: must be a string holding JSON"
		}
		if strings.TrimSpace(opts) != "" {
			var o struct {
				Regions []string `json:"regions"`
			}
			if json.Unmarshal([]byte(opts), &o) != nil {
				return out, `additionalOptions: must hold JSON such as {"regions":["US_EAST_1"]}`
			}
			for _, r := range o.Regions {
				if !sysdigRegion.MatchString(r) {
					return out, fmt.Sprintf("additionalOptions.regions: %q is not a region name such as US_EAST_1", r)
				}
			}
			out.regions = o.Regions
		}
	}
	return out, ""
}

// roleKey identifies a role the way IAM does: account id and role name
// (unique per account regardless of path and case). v2 keeps only the bare
// name, so comparing whole ARNs would miss a duplicate across versions.
func roleKey(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return strings.ToLower(arn)
	}
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	return strings.ToLower(parts[4] + "/" + name)
}

func (s *Server) findRoleLocked(role, except string) *provider {
	key := roleKey(role)
	for _, p := range s.providers {
		if p.ID != except && roleKey(p.RoleARN) == key {
			return p
		}
	}
	return nil
}

// sortedLocked is the store in creation order.
func (s *Server) sortedLocked() []*provider {
	list := make([]*provider, 0, len(s.providers))
	for _, p := range s.providers {
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b *provider) int { return a.seq - b.seq })
	return list
}

func (s *Server) list(w http.ResponseWriter, v string) {
	s.mu.Lock()
	list := s.sortedLocked()
	items := make([]map[string]any, len(list))
	for i, p := range list {
		items[i] = wire(v, p)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"providers": items}) // ASSUMED for both versions
}

func (s *Server) create(w http.ResponseWriter, v string, body []byte) {
	in, problem := parseBody(v, body)
	if problem != "" {
		s.writeError(w, http.StatusBadRequest, "Bad Request", problem, 0)
		return
	}
	s.mu.Lock()
	if dup := s.findRoleLocked(in.role, ""); dup != nil {
		s.mu.Unlock()
		// ASSUMED: a duplicate role answers 409.
		s.writeError(w, http.StatusConflict, "Conflict", fmt.Sprintf("a provider for role %s already exists (id %s)", in.role, dup.ID), 0)
		return
	}
	p := s.insertLocked(in.role, in.alias, in.regions, v)
	out := map[string]any{"provider": s.writeAnswer(v, p)}
	if s.listOnCreate && v == "v1" {
		items := make([]map[string]any, 0, len(s.providers))
		for _, sp := range s.sortedLocked() {
			items = append(items, s.writeAnswer(v, sp))
		}
		out = map[string]any{"providers": items}
	}
	s.mu.Unlock()
	status := http.StatusCreated // TF
	if v == "v1" {
		status = http.StatusOK // ASSUMED: the seed shows the body, not the status
	}
	writeJSON(w, status, out)
}

func (s *Server) get(w http.ResponseWriter, v, id string) {
	s.mu.Lock()
	p, ok := s.providers[id]
	var out map[string]any
	if ok {
		p.Gets++
		out = map[string]any{"provider": s.readAnswer(v, p)}
	}
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusNotFound, "Not Found", "provider "+id+" not found", 0)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) update(w http.ResponseWriter, v, id string, body []byte) {
	in, problem := parseBody(v, body)
	if problem != "" {
		s.writeError(w, http.StatusBadRequest, "Bad Request", problem, 0)
		return
	}
	if len(in.id) > 0 && string(in.id) != "null" && string(in.id) != "0" {
		var bodyID string
		if json.Unmarshal(in.id, &bodyID) != nil {
			bodyID = string(in.id)
		}
		if bodyID != id {
			s.writeError(w, http.StatusBadRequest, "Bad Request", fmt.Sprintf("id: the body's id %s does not match the path's %s", bodyID, id), 0)
			return
		}
	}
	s.mu.Lock()
	p, ok := s.providers[id]
	if !ok {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "Not Found", "provider "+id+" not found", 0)
		return
	}
	if dup := s.findRoleLocked(in.role, id); dup != nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusConflict, "Conflict", fmt.Sprintf("a provider for role %s already exists (id %s)", in.role, dup.ID), 0)
		return
	}
	p.RoleARN, p.Alias, p.Regions = in.role, in.alias, in.regions
	if len(p.Regions) == 0 {
		p.Regions = nil
	}
	p.Updates++
	out := map[string]any{"provider": s.writeAnswer(v, p)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) remove(w http.ResponseWriter, v, id string) {
	s.mu.Lock()
	_, ok := s.providers[id]
	delete(s.providers, id)
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusNotFound, "Not Found", "provider "+id+" not found", 0) // ASSUMED
		return
	}
	if v == "v1" {
		w.WriteHeader(http.StatusNoContent) // ASSUMED
		return
	}
	w.WriteHeader(http.StatusOK) // TF
}
