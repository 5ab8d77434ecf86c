package sysdig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// APIVersion selects which providers API the client uses.
type APIVersion string

const (
	// V1 is /api/providers, the API of Sysdig's role-delegation document.
	V1 APIVersion = "v1"
	// V2 is /api/v2/providers, the API of Sysdig's Terraform provider.
	V2 APIVersion = "v2"
)

// ParseAPIVersion reads "v1" or "v2" (case-insensitive; "1" and "2" too).
func ParseAPIVersion(s string) (APIVersion, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "v1", "1":
		return V1, nil
	case "v2", "2":
		return V2, nil
	}
	return "", fmt.Errorf("sysdig: unknown providers API version %q: expected v1 (/api/providers, Sysdig's role-delegation document) or v2 (/api/v2/providers, Sysdig's Terraform provider)", capText(printable(s), 32))
}

func (v APIVersion) collection() (string, error) {
	switch v {
	case V1:
		return "/api/providers", nil
	case V2:
		return "/api/v2/providers", nil
	}
	return "", fmt.Errorf("sysdig: unknown providers API version %q: use sysdig.V1 or sysdig.V2", string(v))
}

// ProviderSpec is what the caller wants registered.
type ProviderSpec struct {
	// RoleARN is the IAM role Sysdig assumes, arn:aws:iam::<account>:role/<name>.
	RoleARN string
	// Alias is the provider's display alias (optional).
	Alias string
	// Regions restricts resource discovery; AWS codes (us-east-1) or Sysdig
	// names (US_EAST_1). Empty means all regions.
	Regions []string
}

// Provider is a registered provider as the API reports it.
type Provider struct {
	ID      string
	RoleARN string
	Alias   string
	Regions []string // Sysdig names as stored (US_EAST_1); nil = all regions
	Status  string
	// Message is the last message Sysdig gives for the provider (status's
	// lastProviderMessages), empty when it gives none.
	Message string
	// FoundByLookup is set by CreateProvider when the provider comes from looking the
	// role up after an attempt whose outcome was unclear, not from the POST's answer.
	// Such a provider may be that attempt's, or one that held the role before the POST:
	// only the caller, knowing whether the role was free beforehand, can tell.
	FoundByLookup bool
}

var (
	providerIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	roleARNRE    = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):iam::([0-9]{12}):role/((?:[\x21-\x7e]+/)*)([\w+=,.@-]{1,64})$`)
	accountIDRE  = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// ParseRoleARN splits an IAM role ARN into partition, account id and the bare
// role name (the last path segment).
func ParseRoleARN(arn string) (partition, accountID, roleName string, err error) {
	m := roleARNRE.FindStringSubmatch(strings.TrimSpace(arn))
	if m == nil || len(arn) > 2048 {
		return "", "", "", fmt.Errorf("sysdig: %q is not an IAM role ARN: expected arn:aws:iam::<12-digit account id>:role/<role name>", capText(printable(arn), 200))
	}
	return m[1], m[2], m[4], nil
}

// SameRole reports whether two role ARNs name the same role. IAM role names
// are unique per account regardless of path and case, and the v2 API loses the
// path (it stores the bare name), so account id and name decide.
func SameRole(a, b string) bool {
	if strings.EqualFold(a, b) {
		return a != ""
	}
	_, accA, nameA, errA := ParseRoleARN(a)
	_, accB, nameB, errB := ParseRoleARN(b)
	return errA == nil && errB == nil && accA == accB && strings.EqualFold(nameA, nameB)
}

func validateProviderID(id string) error {
	if !providerIDRE.MatchString(id) {
		return fmt.Errorf("sysdig: provider id %q is not valid: expected 1 to 128 characters of A-Z a-z 0-9 . _ -", capText(printable(id), 140))
	}
	return nil
}

// regionOptions is the object held (as a JSON string) in additionalOptions.
type regionOptions struct {
	Regions []string `json:"regions"`
}

// v1Body is the v1 create/update body (SEED; the update "id" is ASSUMED).
type v1Body struct {
	ID          json.RawMessage `json:"id,omitempty"`
	Name        string          `json:"name"`
	Credentials struct {
		Role string `json:"role"`
	} `json:"credentials"`
	Alias             string `json:"alias,omitempty"`
	AdditionalOptions string `json:"additionalOptions,omitempty"`
}

// v2Body is the v2 create/update body (TF; "alias" is ASSUMED).
type v2Body struct {
	ID              json.RawMessage `json:"id"`
	Platform        string          `json:"platform"`
	IntegrationType string          `json:"integrationType"`
	Credentials     struct {
		AccountID string `json:"accountId"`
		RoleName  string `json:"roleName"`
	} `json:"credentials"`
	AdditionalOptions string `json:"additionalOptions"`
	Alias             string `json:"alias,omitempty"`
}

// EncodeProvider builds the JSON request body for a create (id empty) or an
// update of a provider in the given API version.
func EncodeProvider(v APIVersion, id string, spec ProviderSpec) ([]byte, error) {
	if _, err := v.collection(); err != nil {
		return nil, err
	}
	_, account, roleName, err := ParseRoleARN(spec.RoleARN)
	if err != nil {
		return nil, err
	}
	regions, err := sysdigRegionNames(spec.Regions)
	if err != nil {
		return nil, err
	}
	opts := ""
	if len(regions) > 0 {
		b, err := json.Marshal(regionOptions{Regions: regions})
		if err != nil {
			return nil, fmt.Errorf("sysdig: encoding regions: %w", err)
		}
		opts = string(b) // a JSON string holding JSON (SEED)
	}
	alias := strings.TrimSpace(spec.Alias)
	var idJSON json.RawMessage
	if id != "" {
		if err := validateProviderID(id); err != nil {
			return nil, err
		}
		idJSON = idLiteral(id)
	}
	switch v {
	case V1:
		b := v1Body{ID: idJSON, Name: "aws", Alias: alias, AdditionalOptions: opts}
		b.Credentials.Role = strings.TrimSpace(spec.RoleARN)
		return json.Marshal(b)
	default:
		if idJSON == nil {
			idJSON = json.RawMessage("0") // TF sends 0 on create
		}
		b := v2Body{ID: idJSON, Platform: "AWS", IntegrationType: "API", AdditionalOptions: opts, Alias: alias}
		b.Credentials.AccountID = account
		b.Credentials.RoleName = roleName
		return json.Marshal(b)
	}
}

// idLiteral sends a numeric id as a JSON number (as the API hands it out) and
// anything else as a string.
func idLiteral(id string) json.RawMessage {
	if strings.Trim(id, "0123456789") == "" && len(id) <= 18 && (id == "0" || id[0] != '0') {
		return json.RawMessage(id)
	}
	b, _ := json.Marshal(id)
	return b
}

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
			return "", fmt.Errorf("sysdig: the provider id is not valid JSON: %w", err)
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("sysdig: the provider id %s is neither a number nor a string", capText(printable(string(raw)), 64))
		}
		id = n.String()
		if strings.Trim(id, "0123456789") != "" {
			return "", fmt.Errorf("sysdig: the provider id %s is not a whole non-negative number", capText(id, 64))
		}
	}
	if err := validateProviderID(id); err != nil {
		return "", err
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
		return Provider{}, fmt.Errorf("sysdig: the %s provider answer is not the expected JSON {\"provider\":{…}}: %w", v, err)
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
		return nil, fmt.Errorf("sysdig: the %s provider list is not the expected JSON {\"providers\":[…]}: %w", v, err)
	}
	if out == nil {
		out = []Provider{}
	}
	return out, nil
}

// streamError is an answer that is not the expected JSON (as opposed to a connection
// that broke while it was read). foreign marks an answer that does not look like a
// provider answer at all (not JSON, or JSON of another kind): when it is also large,
// the API URL is the likely mistake.
type streamError struct {
	err     error
	foreign bool
}

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// decodeProviderStream reads a provider list one provider at a time, holding one in
// memory at once, and calls visit for each until visit returns false. The list may be
// {"providers":[…]} (other keys are skipped) or, for v2, a bare array.
func decodeProviderStream(v APIVersion, r io.Reader, visit func(Provider) bool) error {
	return decodeProviders(v, r, nil, visit)
}

// decodeProviders is decodeProviderStream that, when visitOne is set, also accepts a
// single provider, {"provider":{…}}, and hands it to visitOne (the create answer, which
// the seed says "lists all the providers" while its example holds one). Memory stays
// bounded: one provider, or one skipped value, at a time, none larger than maxBodyBytes.
func decodeProviders(v APIVersion, r io.Reader, visitOne, visit func(Provider) bool) error {
	if _, err := v.collection(); err != nil {
		return &streamError{err: err}
	}
	what, want, itemOf := "provider list", `{"providers":[…]}`, "list"
	if visitOne != nil {
		what, want, itemOf = "create answer", `{"provider":{…}} or {"providers":[…]}`, "create answer"
	}
	unexpected := func(format string, args ...any) error {
		return &streamError{err: fmt.Errorf("sysdig: the %s %s "+format, append([]any{v, what}, args...)...), foreign: true}
	}
	shape := func(err error) error {
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) || !isJSONError(err) {
			return err
		}
		return &streamError{err: fmt.Errorf("sysdig: the %s %s is not the expected JSON %s: %w", v, what, want, err), foreign: true}
	}
	in := &boundedJSON{r: r, limit: maxBodyBytes}
	dec := json.NewDecoder(in)
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return unexpected("is empty: expected JSON %s", want)
		}
		return shape(err)
	}
	items := func() error {
		for i := 0; dec.More(); i++ {
			in.reset()
			var w wireProvider
			if err := dec.Decode(&w); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return &streamError{err: fmt.Errorf("sysdig: provider %d of the %s %s: %w", i, v, itemOf, err)}
				}
				return shape(err)
			}
			p, err := w.toProvider(v)
			if err != nil {
				return &streamError{err: fmt.Errorf("sysdig: provider %d of the %s %s: %w", i, v, itemOf, err)}
			}
			if !visit(p) {
				return errStopVisit
			}
		}
		_, err := dec.Token() // ]
		return shape(err)
	}
	switch tok {
	case json.Delim('['):
		if v != V2 {
			return unexpected("is not the expected JSON %s: it is a bare array", want)
		}
		return ignoreStop(items())
	case json.Delim('{'):
	default:
		return unexpected("is not the expected JSON %s", want)
	}
	found := false
	for dec.More() {
		in.reset()
		keyTok, err := dec.Token()
		if err != nil {
			return shape(err)
		}
		key, _ := keyTok.(string)
		in.reset()
		// Matched as encoding/json matches struct fields: case-insensitively.
		switch {
		case visitOne != nil && strings.EqualFold(key, "provider"):
			var w *wireProvider
			if err := dec.Decode(&w); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return &streamError{err: fmt.Errorf("sysdig: the %s %s: %w", v, what, err)}
				}
				return shape(err)
			}
			if w == nil {
				continue // "provider": null; a "providers" array may follow
			}
			p, err := w.toProvider(v)
			if err != nil {
				return &streamError{err: fmt.Errorf("sysdig: the %s %s: %w", v, what, err)}
			}
			found = true
			if !visitOne(p) {
				return nil
			}
		case strings.EqualFold(key, "providers"):
			if found && visitOne == nil {
				return &streamError{err: fmt.Errorf("sysdig: the %s %s has two \"providers\" arrays", v, what)}
			}
			found = true
			open, err := dec.Token()
			if err != nil {
				return shape(err)
			}
			if open != json.Delim('[') {
				return unexpected("has no \"providers\" array")
			}
			if err := items(); err != nil {
				return ignoreStop(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return shape(err)
			}
		}
	}
	if !found {
		if visitOne != nil {
			return unexpected("has neither a \"provider\" object nor a \"providers\" array")
		}
		return unexpected("has no \"providers\" array")
	}
	_, err = dec.Token() // }
	return shape(err)
}

// errValueTooLarge: one JSON value of an answer (a provider, or a value skipped) is
// larger than maxBodyBytes; the decoder would have to hold it whole.
var errValueTooLarge = &streamError{err: fmt.Errorf("sysdig: one JSON value in the answer is larger than %d bytes", maxBodyBytes), foreign: true}

// boundedJSON feeds a JSON stream to json.Decoder and bounds what the decoder may hold:
// it fails once more than limit bytes pass between two resets (the decoder keeps a value
// whole until it is done with it), and cuts runs of whitespace outside strings to one
// byte (the decoder keeps whitespace it has not passed yet, and whitespace is free in
// JSON, so a long list stays a list, however padded). A decoder that asks for more than
// it was given gets the same bytes; only the count it may buffer is capped.
type boundedJSON struct {
	r                        io.Reader
	n, limit                 int64
	inString, escaped, wsRun bool
}

func (b *boundedJSON) reset() { b.n = 0 }

func (b *boundedJSON) Read(p []byte) (int, error) {
	for {
		if b.n >= b.limit {
			return 0, errValueTooLarge
		}
		if room := b.limit - b.n; int64(len(p)) > room {
			p = p[:room]
		}
		n, err := b.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			switch {
			case b.inString:
				switch {
				case b.escaped:
					b.escaped = false
				case c == '\\':
					b.escaped = true
				case c == '"':
					b.inString = false
				}
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				if b.wsRun {
					continue
				}
				b.wsRun = true
				p[k] = c
				k++
				continue
			case c == '"':
				b.inString = true
			}
			b.wsRun = false
			p[k] = c
			k++
		}
		b.n += int64(k)
		// A read that was all squeezed-out whitespace reads again: the decoder takes
		// (0, nil) as no progress. The request's deadline bounds an endless blank answer.
		if k > 0 || err != nil || n == 0 {
			return k, err
		}
	}
}

// transportReader remembers whether reading failed in the connection rather than in
// the JSON: only the former is worth another attempt.
type transportReader struct {
	r   io.Reader
	err error
}

func (t *transportReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// errStopVisit ends a list early: the visitor has what it wanted.
var errStopVisit = errors.New("stop")

func ignoreStop(err error) error {
	if errors.Is(err, errStopVisit) {
		return nil
	}
	return err
}

func isJSONError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te) || strings.HasPrefix(err.Error(), "invalid character") ||
		strings.HasPrefix(err.Error(), "json:")
}

func (c *Client) itemPath(v APIVersion, id string) (string, error) {
	coll, err := v.collection()
	if err != nil {
		return "", err
	}
	if err := validateProviderID(id); err != nil {
		return "", err
	}
	return coll + "/" + url.PathEscape(id), nil
}

// CreateProvider registers a provider with one POST and returns the provider its
// answer describes (Status is empty when the answer has none). Create is not
// idempotent: when an attempt's outcome is ambiguous (a 5xx other than 503, or a
// connection lost after the request may have been sent), the client looks the
// role up before the next attempt and returns the provider if it now exists, so
// a retry never registers the role twice. A 409 (role already registered,
// ASSUMED) is returned as an *APIError unless an earlier ambiguous attempt
// explains it. A provider found by such a look-up has FoundByLookup set: it is
// not proof that this call created it. Nothing is listed on the way of a plain
// success.
func (c *Client) CreateProvider(ctx context.Context, v APIVersion, spec ProviderSpec) (Provider, error) {
	coll, err := v.collection()
	if err != nil {
		return Provider{}, err
	}
	body, err := EncodeProvider(v, "", spec)
	if err != nil {
		return Provider{}, err
	}
	var found Provider
	// Before retrying after an unclear attempt: a provider for the role now is probably
	// that attempt's (or held the role before it: FoundByLookup lets the caller judge).
	// A tenant that does not list providers cannot say; the POST is retried, and a 409 to
	// it then says the earlier attempt probably worked.
	beforeRetry := func(ctx context.Context) (bool, error) {
		p, ok, err := c.FindProviderByRole(ctx, v, spec.RoleARN)
		if errors.Is(err, ErrListingNotSupported) {
			return false, nil
		}
		if err != nil {
			return true, fmt.Errorf("sysdig: POST %s: an earlier attempt may have registered role %s, and looking it up failed, so not trying again (check the providers in Sysdig before retrying): %w", coll, spec.RoleARN, err)
		}
		if ok {
			c.logger.Warn("sysdig: after a create attempt with an unclear outcome, found a provider for the role (that attempt's, or one that held the role before)", "path", coll, "id", p.ID)
			found = p
			return true, nil
		}
		return false, nil
	}
	onConflict := func(ctx context.Context) (bool, error) {
		p, ok, err := c.FindProviderByRole(ctx, v, spec.RoleARN)
		if errors.Is(err, ErrListingNotSupported) {
			return true, fmt.Errorf("sysdig: POST %s: an earlier attempt whose answer was lost probably registered role %s (Sysdig now answers 409), and this Sysdig does not list providers, so its id is unknown: remove the provider for this role at Sysdig, then retry: %w", coll, spec.RoleARN, err)
		}
		if err != nil {
			return true, fmt.Errorf("sysdig: POST %s: an earlier attempt may have registered role %s, and looking it up failed (check the providers in Sysdig before retrying): %w", coll, spec.RoleARN, err)
		}
		if ok {
			c.logger.Warn("sysdig: after a create attempt with an unclear outcome, found a provider for the role (that attempt's, or one that held the role before)", "path", coll, "id", p.ID)
			found = p
			return true, nil
		}
		return false, nil
	}
	// The answer is read as it arrives: the seed says it "lists all the providers", which
	// on a large tenant is megabytes, while its example holds the one provider. Either way
	// only one provider is held at a time and the read stops at the role's.
	var created Provider
	answer := func(r io.Reader) error {
		created = Provider{}
		ok, listed := false, 0
		tr := &transportReader{r: r}
		err := decodeProviders(v, tr, func(p Provider) bool {
			created, ok = p, true
			return false
		}, func(p Provider) bool {
			listed++
			if SameRole(p.RoleARN, spec.RoleARN) {
				created, ok = p, true
				return false
			}
			return true
		})
		var se *streamError
		switch {
		case err != nil && tr.err == nil && !errors.As(err, &se):
			// The whole answer arrived and does not parse (cut short, say).
			return &streamError{err: fmt.Errorf("sysdig: the %s create answer is not the expected JSON {\"provider\":{…}} or {\"providers\":[…]}: %w", v, err)}
		case err != nil:
			return err
		case !ok:
			return &streamError{err: fmt.Errorf("sysdig: its list of %d providers has none for role %s, so the answer does not say whether Sysdig registered it: check the providers in Sysdig (sysdig-connect providers list) before retrying", listed, spec.RoleARN)}
		}
		return nil
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: coll, body: body, stream: answer, beforeRetry: beforeRetry, onConflictAfterAmbiguous: onConflict})
	if err != nil {
		return Provider{}, err
	}
	if resp.resolved {
		found.FoundByLookup = true
		return found, nil
	}
	return created, nil
}

// GetProvider reads one provider; an unknown id is an *APIError with status 404.
func (c *Client) GetProvider(ctx context.Context, v APIVersion, id string) (Provider, error) {
	path, err := c.itemPath(v, id)
	if err != nil {
		return Provider{}, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return Provider{}, err
	}
	p, err := DecodeProvider(v, resp.body)
	if err != nil {
		return Provider{}, fmt.Errorf("sysdig: GET %s: %w", path, err)
	}
	return p, nil
}

// ErrListingNotSupported is returned (wrapped) when the tenant answers 404 or 405 to a
// provider list: no Sysdig document or client lists /api/v2/providers, so a tenant may
// well not offer it. It is not an error of the request, only a capability missing.
var ErrListingNotSupported = errors.New("this Sysdig does not list providers")

// ListProviders reads every provider of the tenant. The list is decoded as it arrives,
// so its size is bounded only by the caller's deadline.
func (c *Client) ListProviders(ctx context.Context, v APIVersion) ([]Provider, error) {
	out := []Provider{}
	err := c.VisitProviders(ctx, v, func(p Provider) bool {
		out = append(out, p)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// VisitProviders reads the tenant's providers one at a time, calling visit for each
// until it returns false; only one provider is held in memory at once. A tenant that
// does not offer the list answers an error wrapping ErrListingNotSupported.
func (c *Client) VisitProviders(ctx context.Context, v APIVersion, visit func(Provider) bool) error {
	coll, err := v.collection()
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodGet, path: coll, stream: func(r io.Reader) error {
		tr := &transportReader{r: r}
		err := decodeProviderStream(v, tr, visit)
		var se *streamError
		if err != nil && tr.err == nil && !errors.As(err, &se) {
			// The whole answer arrived and does not parse (cut short, say).
			err = &streamError{err: fmt.Errorf("sysdig: the %s provider list is not the expected JSON {\"providers\":[…]}: %w", v, err)}
		}
		return err
	}})
	switch s := statusOf(err); {
	case s == http.StatusNotFound || s == http.StatusMethodNotAllowed:
		return fmt.Errorf("%w: %w", ErrListingNotSupported, err)
	case err != nil:
		return err
	}
	return nil
}

// FindProviderByRole looks for the provider registered for roleARN. Roles
// match on account id and role name (the v2 API keeps only the bare name).
// The list is read only as far as the first match.
func (c *Client) FindProviderByRole(ctx context.Context, v APIVersion, roleARN string) (Provider, bool, error) {
	if _, _, _, err := ParseRoleARN(roleARN); err != nil {
		return Provider{}, false, err
	}
	var found Provider
	ok := false
	err := c.VisitProviders(ctx, v, func(p Provider) bool {
		if SameRole(p.RoleARN, roleARN) {
			found, ok = p, true
			return false
		}
		return true
	})
	if err != nil {
		return Provider{}, false, err
	}
	return found, ok, nil
}

// UpdateProvider replaces a provider's role, alias and regions (v1 body
// with "id" is ASSUMED, mirroring v2). PUT is idempotent and retried.
func (c *Client) UpdateProvider(ctx context.Context, v APIVersion, id string, spec ProviderSpec) (Provider, error) {
	path, err := c.itemPath(v, id)
	if err != nil {
		return Provider{}, err
	}
	body, err := EncodeProvider(v, id, spec)
	if err != nil {
		return Provider{}, err
	}
	resp, err := c.do(ctx, request{method: http.MethodPut, path: path, body: body})
	if err != nil {
		return Provider{}, err
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		// An empty 2xx: read the provider back.
		return c.GetProvider(ctx, v, id)
	}
	p, err := DecodeProvider(v, resp.body)
	if err != nil {
		return Provider{}, fmt.Errorf("sysdig: PUT %s answered %d but: %w", path, resp.status, err)
	}
	return p, nil
}

// DeleteProvider removes a provider. An unknown id (already deleted) comes
// back as an *APIError with StatusCode 404 (ASSUMED); the caller decides.
func (c *Client) DeleteProvider(ctx context.Context, v APIVersion, id string) error {
	path, err := c.itemPath(v, id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: path})
	return err
}
