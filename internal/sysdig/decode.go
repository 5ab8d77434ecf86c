package sysdig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// wireProvider is the union of the v1 and v2 provider objects.
type wireProvider struct {
	ID          json.RawMessage `json:"id"`
	Name        string          `json:"name"`
	Platform    string          `json:"platform"`
	Credentials *struct {
		Role      string          `json:"role"`
		AccountID json.RawMessage `json:"accountId"`
		RoleName  string          `json:"roleName"`
	} `json:"credentials"`
	Alias             string          `json:"alias"`
	AdditionalOptions json.RawMessage `json:"additionalOptions"`
	Status            json.RawMessage `json:"status"`
}

func (w *wireProvider) toProvider(v APIVersion) (Provider, error) {
	id, err := decodeID(w.ID)
	if err != nil {
		return Provider{}, err
	}
	p := Provider{ID: id, Alias: w.Alias, Status: decodeStatus(w.Status), Message: decodeStatusMessage(w.Status), Regions: decodeRegions(w.AdditionalOptions)}
	if c := w.Credentials; c != nil {
		switch {
		case v == V1 && c.Role != "":
			p.RoleARN = c.Role
		case strings.HasPrefix(c.RoleName, "arn:"):
			// TF: GET returns roleName as the full ARN although create
			// sends the bare name.
			p.RoleARN = c.RoleName
		case c.RoleName != "":
			acct := decodeScalar(c.AccountID)
			if accountIDRE.MatchString(acct) && roleNameRE.MatchString(c.RoleName) {
				// ASSUMED: the partition is not in the answer; "aws".
				p.RoleARN = "arn:aws:iam::" + acct + ":role/" + c.RoleName
			}
		case c.Role != "":
			p.RoleARN = c.Role
		}
	}
	return p, nil
}

// decodeID accepts a JSON number or string.
func decodeID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", errors.New("sysdig: the provider has no id")
	}
	var id string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", fmt.Errorf("sysdig: the provider id is not valid JSON: %w", jsonProblem(err))
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("sysdig: the provider id is %s, neither a number nor a string", describeJSON(raw))
		}
		id = n.String()
		if strings.Trim(id, "0123456789") != "" {
			return "", fmt.Errorf("sysdig: the provider id is a number of %d characters that is not a whole non-negative number", len(id))
		}
	}
	if !providerIDRE.MatchString(id) {
		// Described, not shown: the answer's value may be anything, the token included.
		return "", fmt.Errorf("sysdig: the provider id in the answer (a string of %d bytes) is not valid: expected 1 to 128 characters of A-Z a-z 0-9 . _ -", len(id))
	}
	return id, nil
}

// decodeScalar renders a JSON string or number as text ("" otherwise).
func decodeScalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// decodeStatus reads v1's {"status":"configured",…} (SEED) and, for v2, a
// plain string or the same object (ASSUMED).
func decodeStatus(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Status json.RawMessage `json:"status"`
	}
	if json.Unmarshal(raw, &obj) == nil && len(obj.Status) > 0 {
		return decodeStatus(obj.Status)
	}
	return ""
}

// decodeRegions reads additionalOptions: a JSON string holding
// {"regions":[…]} (SEED), the object itself, or empty/null (all regions).
// Anything unreadable counts as "all regions": the option is informational
// for the caller, which always sends the regions it wants.
func decodeRegions(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		raw = bytes.TrimSpace([]byte(s))
		if len(raw) == 0 {
			return nil
		}
	}
	var opts regionOptions
	if json.Unmarshal(raw, &opts) != nil || len(opts.Regions) == 0 {
		return nil
	}
	out := make([]string, 0, len(opts.Regions))
	for _, r := range opts.Regions {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// DecodeProvider reads a single-provider answer, {"provider":{…}} (SEED for
// v1 create, TF for v2; the v1 GET shape is ASSUMED to match).
func DecodeProvider(v APIVersion, body []byte) (Provider, error) {
	if _, err := v.collection(); err != nil {
		return Provider{}, err
	}
	var env struct {
		Provider *wireProvider `json:"provider"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Provider{}, fmt.Errorf("sysdig: the %s provider answer is not the expected JSON {\"provider\":{…}}: %w", v, jsonProblem(err))
	}
	if env.Provider == nil {
		return Provider{}, fmt.Errorf("sysdig: the %s provider answer has no \"provider\" object", v)
	}
	return env.Provider.toProvider(v)
}

// DecodeProviderList reads a provider list, {"providers":[…]} (ASSUMED for
// both versions); for v2 a bare array is accepted too (ASSUMED).
func DecodeProviderList(v APIVersion, body []byte) ([]Provider, error) {
	var out []Provider
	err := decodeProviderStream(v, bytes.NewReader(body), func(p Provider) bool {
		out = append(out, p)
		return true
	})
	if err != nil {
		var se *streamError
		if errors.As(err, &se) {
			return nil, se.err
		}
		return nil, fmt.Errorf("sysdig: the %s provider list is not the expected JSON {\"providers\":[…]}: %w", v, jsonProblem(err))
	}
	if out == nil {
		out = []Provider{}
	}
	return out, nil
}

// valueFreeError is a JSON type error told without the value: encoding/json puts a
// number's digits in its message, and a value Sysdig sent is never echoed.
type valueFreeError struct{ te *json.UnmarshalTypeError }

func (e *valueFreeError) Error() string {
	kind, _, _ := strings.Cut(e.te.Value, " ")
	field := e.te.Field
	if field == "" {
		field = "the answer"
	} else {
		field = "field " + strconv.Quote(field)
	}
	return fmt.Sprintf("json: %s holds a JSON %s where a %s is expected", field, kind, e.te.Type)
}

func (e *valueFreeError) Unwrap() error { return e.te }

// jsonProblem returns err with any JSON type error in it told without the value.
func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &valueFreeError{te: te}
	}
	return err
}

// describeJSON names a JSON value's kind and size, never its content.
func describeJSON(raw json.RawMessage) string {
	kind := "a value"
	if raw = bytes.TrimSpace(raw); len(raw) > 0 {
		switch raw[0] {
		case '{':
			kind = "an object"
		case '[':
			kind = "an array"
		case 't', 'f':
			kind = "a boolean"
		case '"':
			kind = "a string"
		}
	}
	return fmt.Sprintf("%s of %d bytes", kind, len(raw))
}
