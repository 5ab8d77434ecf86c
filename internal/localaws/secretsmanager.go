package localaws

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Error types Secrets Manager answers with (the "__type" of the JSON error body and the
// X-Amzn-ErrorType header).
const (
	ErrResourceNotFound     = "ResourceNotFoundException"
	ErrAccessDenied         = "AccessDeniedException"
	ErrThrottling           = "ThrottlingException"
	ErrInternalServiceError = "InternalServiceError"
	ErrDecryptionFailure    = "DecryptionFailure"
	ErrInvalidRequest       = "InvalidRequestException"
	ErrInvalidParameter     = "InvalidParameterException"
	ErrResourceExists       = "ResourceExistsException"
	ErrUnknownOperation     = "UnknownOperationException"
	ErrSerialization        = "SerializationException"
	ErrMissingAuthToken     = "MissingAuthenticationTokenException"
	ErrIncompleteSignature  = "IncompleteSignatureException"
	ErrInvalidSignature     = "InvalidSignatureException"
)

// errorSpecs gives each error type its HTTP status and default message.
var errorSpecs = map[string]struct {
	status  int
	message string
}{
	ErrResourceNotFound:     {http.StatusBadRequest, "Secrets Manager can't find the specified secret."},
	ErrAccessDenied:         {http.StatusBadRequest, "User: arn:aws:sts::000000000000:assumed-role/local/local is not authorized to perform this operation on the secret because no identity-based policy allows it"},
	ErrThrottling:           {http.StatusBadRequest, "Rate exceeded"},
	ErrInternalServiceError: {http.StatusInternalServerError, "An error occurred on the server side."},
	ErrDecryptionFailure:    {http.StatusBadRequest, "Secrets Manager can't decrypt the protected secret text using the provided KMS key."},
	ErrInvalidRequest:       {http.StatusBadRequest, "You can't perform this operation on the secret because it was marked for deletion."},
	ErrInvalidParameter:     {http.StatusBadRequest, "Invalid parameter."},
	ErrResourceExists:       {http.StatusBadRequest, "The operation failed because the secret already exists."},
	ErrUnknownOperation:     {http.StatusBadRequest, "Unknown operation."},
	ErrSerialization:        {http.StatusBadRequest, "Start of structure or map found where not expected."},
	ErrMissingAuthToken:     {http.StatusBadRequest, "Missing Authentication Token"},
	ErrIncompleteSignature:  {http.StatusBadRequest, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters."},
	ErrInvalidSignature:     {http.StatusBadRequest, "Credential should be scoped to a valid region."},
}

// Operations the fake implements.
const (
	OpGetSecretValue = "GetSecretValue"
	OpCreateSecret   = "CreateSecret"
	OpPutSecretValue = "PutSecretValue"
	OpDescribeSecret = "DescribeSecret"
	OpDeleteSecret   = "DeleteSecret"
)

const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
	maxBodyBytes  = 1 << 20
	// maxRequestLog bounds the request log; older entries are dropped first.
	maxRequestLog = 100_000
)

// SMRequest is one request the fake received, for assertions.
type SMRequest struct {
	Op        string    `json:"op"`                  // "GetSecretValue"; empty when the target header was missing
	SecretID  string    `json:"secretId"`            // the SecretId (or Name for CreateSecret) exactly as sent
	Time      time.Time `json:"time"`                // when it arrived
	Status    int       `json:"status"`              // HTTP status answered
	ErrorType string    `json:"errorType,omitempty"` // error type answered, empty on success
	AccessKey string    `json:"accessKey,omitempty"` // access key id from the SigV4 credential scope
	Region    string    `json:"region,omitempty"`    // region from the SigV4 credential scope
}

// SecretsManager is an http.Handler speaking the AWS JSON 1.1 protocol of Secrets Manager
// (POST /, X-Amz-Target: secretsmanager.<Op>). It does not verify SigV4 signatures but
// insists on an Authorization header shaped like one, scoped to its region and to the
// secretsmanager service. The zero value is not usable; call NewSecretsManager.
type SecretsManager struct {
	region    string
	accountID string
	logger    *slog.Logger

	mu       sync.Mutex
	secrets  map[string]*smSecret // by name
	faults   map[faultKey][]string
	deny     map[faultKey]bool
	requests []SMRequest
}

type faultKey struct{ op, secretID string }

type smSecret struct {
	name        string
	arn         string
	description string
	created     time.Time
	changed     time.Time
	accessed    time.Time
	deleted     time.Time // zero unless scheduled for deletion
	versions    map[string]*smVersion
	order       []string // version ids, oldest first
}

type smVersion struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

// NewSecretsManager returns an empty fake for the given region and account id.
func NewSecretsManager(region, accountID string) *SecretsManager {
	return &SecretsManager{
		region:    region,
		accountID: accountID,
		logger:    slog.New(slog.DiscardHandler),
		secrets:   map[string]*smSecret{},
		faults:    map[faultKey][]string{},
		deny:      map[faultKey]bool{},
	}
}

// SetLogger makes the fake log one line per request (never secret values).
func (s *SecretsManager) SetLogger(l *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logger = l
}

// Region is the region the fake answers for.
func (s *SecretsManager) Region() string { return s.region }

// PutSecret creates the secret, or adds value as its new AWSCURRENT version, and returns
// its ARN.
func (s *SecretsManager) PutSecret(name, value string) (arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	sec, ok := s.secrets[name]
	if !ok || !sec.deleted.IsZero() {
		sec = s.newSecretLocked(name, "", now)
	}
	v := value
	sec.addVersionLocked(newUUID(), &v, nil, now)
	return sec.arn
}

// Inject makes the next len(errorTypes) requests for op on secretID fail with the given
// error types, in order; later requests are served normally. An empty op or secretID
// matches any. secretID may be a name or an ARN. Injections for the same key queue up.
func (s *SecretsManager) Inject(op, secretID string, errorTypes ...string) {
	for _, et := range errorTypes {
		if _, ok := errorSpecs[et]; !ok {
			panic(fmt.Sprintf("localaws: Inject: unknown error type %q", et))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := faultKey{op, secretID}
	s.faults[k] = append(s.faults[k], errorTypes...)
}

// Deny makes every request for op on secretID fail with AccessDeniedException until Allow.
// An empty op or secretID matches any.
func (s *SecretsManager) Deny(op, secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny[faultKey{op, secretID}] = true
}

// Allow undoes Deny for exactly that op and secretID.
func (s *SecretsManager) Allow(op, secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.deny, faultKey{op, secretID})
}

// Requests returns every request received so far, oldest first.
func (s *SecretsManager) Requests() []SMRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count is how many requests for op on secretID arrived (empty matches any). secretID is
// compared with the SecretId as sent.
func (s *SecretsManager) Count(op, secretID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if (op == "" || r.Op == op) && (secretID == "" || r.SecretID == secretID) {
			n++
		}
	}
	return n
}

// Start serves the fake on a free 127.0.0.1 port and returns its URL and a stop function.
// It panics if no loopback port is available.
func (s *SecretsManager) Start() (url string, stop func()) { return start(s) }

// ServeHTTP implements the wire protocol. It also serves a small JSON control API for
// out-of-process use (the real protocol only ever uses POST /):
// GET /_local/requests lists the recorded requests, and
// POST /_local/secrets {"name":...,"value":...} is PutSecret and answers {"arn":...}.
func (s *SecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	rec := SMRequest{Time: time.Now()}
	status, errType := s.serve(w, r, &rec)
	rec.Status, rec.ErrorType = status, errType
	s.mu.Lock()
	if len(s.requests) >= maxRequestLog {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxRequestLog+1)
	}
	s.requests = append(s.requests, rec)
	logger := s.logger
	s.mu.Unlock()
	logger.Info("secretsmanager request", "op", rec.Op, "secretId", rec.SecretID, "status", status, "error", errType)
}

func (s *SecretsManager) serve(w http.ResponseWriter, r *http.Request, rec *SMRequest) (int, string) {
	fail := func(errType, msg string) (int, string) {
		return writeAWSError(w, errType, msg), errType
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return fail(ErrUnknownOperation, "")
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "secretsmanager.")
	if !ok || op == "" {
		return fail(ErrUnknownOperation, "")
	}
	rec.Op = op
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return fail(ErrSerialization, "request body unreadable or too large")
	}
	var in smInput
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-amz-json-1.1") {
		return fail(ErrSerialization, fmt.Sprintf("unsupported Content-Type %q", ct))
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return fail(ErrSerialization, err.Error())
		}
	}
	rec.SecretID = in.SecretID
	if op == OpCreateSecret {
		rec.SecretID = in.Name
	}
	akid, region, errType, msg := s.checkAuth(r)
	rec.AccessKey, rec.Region = akid, region
	if errType != "" {
		return fail(errType, msg)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if errType := s.faultLocked(op, rec.SecretID); errType != "" {
		return fail(errType, "")
	}
	now := time.Now()
	var out any
	switch op {
	case OpGetSecretValue:
		out, errType, msg = s.getSecretValueLocked(in, now)
	case OpCreateSecret:
		out, errType, msg = s.createSecretLocked(in, now)
	case OpPutSecretValue:
		out, errType, msg = s.putSecretValueLocked(in, now)
	case OpDescribeSecret:
		out, errType, msg = s.describeSecretLocked(in)
	case OpDeleteSecret:
		out, errType, msg = s.deleteSecretLocked(in, now)
	default:
		return fail(ErrUnknownOperation, "")
	}
	if errType != "" {
		return fail(errType, msg)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fail(ErrInternalServiceError, "")
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", newUUID())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return http.StatusOK, ""
}

// checkAuth requires an Authorization header shaped like SigV4, scoped to this region
// and to secretsmanager. It does not verify the signature.
func (s *SecretsManager) checkAuth(r *http.Request) (akid, region, errType, msg string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", "", ErrMissingAuthToken, ""
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", "", ErrIncompleteSignature, "Authorization header must use AWS4-HMAC-SHA256."
	}
	params := map[string]string{}
	for p := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	if params["Credential"] == "" || params["SignedHeaders"] == "" || params["Signature"] == "" {
		return "", "", ErrIncompleteSignature, ""
	}
	if r.Header.Get("X-Amz-Date") == "" {
		return "", "", ErrIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	}
	// Credential=AKID/20260101/us-east-1/secretsmanager/aws4_request
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" {
		return "", "", ErrIncompleteSignature, "Credential scope is malformed."
	}
	akid, region = scope[0], scope[2]
	if region != s.region {
		return akid, region, ErrInvalidSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", region)
	}
	if scope[3] != "secretsmanager" {
		return akid, region, ErrInvalidSignature, fmt.Sprintf("Credential should be scoped to correct service: 'secretsmanager', not '%s'.", scope[3])
	}
	return akid, region, "", ""
}

// faultLocked returns the error type to answer with, consuming one injected fault.
func (s *SecretsManager) faultLocked(op, secretID string) string {
	ids := []string{secretID, ""}
	if sec := s.lookupLocked(secretID); sec != nil {
		ids = append(ids, sec.name, sec.arn)
	}
	for _, o := range []string{op, ""} {
		for _, id := range ids {
			if s.deny[faultKey{o, id}] {
				return ErrAccessDenied
			}
		}
	}
	for _, o := range []string{op, ""} {
		for _, id := range ids {
			k := faultKey{o, id}
			if q := s.faults[k]; len(q) > 0 {
				s.faults[k] = q[1:]
				if len(s.faults[k]) == 0 {
					delete(s.faults, k)
				}
				return q[0]
			}
		}
	}
	return ""
}

// lookupLocked finds a secret by name or full ARN.
func (s *SecretsManager) lookupLocked(id string) *smSecret {
	if id == "" {
		return nil
	}
	if sec, ok := s.secrets[id]; ok {
		return sec
	}
	if strings.HasPrefix(id, "arn:") {
		for _, sec := range s.secrets {
			if sec.arn == id {
				return sec
			}
		}
	}
	return nil
}

type smInput struct {
	SecretID                   string   `json:"SecretId"`
	Name                       string   `json:"Name"`
	Description                string   `json:"Description"`
	SecretString               *string  `json:"SecretString"`
	SecretBinary               []byte   `json:"SecretBinary"`
	ClientRequestToken         string   `json:"ClientRequestToken"`
	VersionID                  string   `json:"VersionId"`
	VersionStage               string   `json:"VersionStage"`
	VersionStages              []string `json:"VersionStages"`
	RecoveryWindowInDays       *int64   `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery bool     `json:"ForceDeleteWithoutRecovery"`
}

// epoch marshals as the fractional epoch seconds AWS JSON protocols use.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', 3, 64)), nil
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

func (s *SecretsManager) newSecretLocked(name, description string, now time.Time) *smSecret {
	sec := &smSecret{
		name:        name,
		arn:         fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", s.region, s.accountID, name, randSuffix()),
		description: description,
		created:     now,
		changed:     now,
		versions:    map[string]*smVersion{},
	}
	s.secrets[name] = sec
	return sec
}

func (sec *smSecret) addVersionLocked(id string, str *string, bin []byte, now time.Time) *smVersion {
	for _, v := range sec.versions {
		v.stages = slices.DeleteFunc(v.stages, func(st string) bool { return st == stagePrevious })
		if slices.Contains(v.stages, stageCurrent) {
			v.stages = slices.DeleteFunc(v.stages, func(st string) bool { return st == stageCurrent })
			v.stages = append(v.stages, stagePrevious)
		}
	}
	v := &smVersion{id: id, str: str, bin: bin, stages: []string{stageCurrent}, created: now}
	sec.versions[id] = v
	sec.order = append(sec.order, id)
	sec.changed = now
	// Secrets Manager keeps labelled versions and at most ~100 unlabelled ones; keep the
	// labelled ones and the newest few.
	const keepUnlabelled = 10
	if len(sec.order) > keepUnlabelled+2 {
		kept := sec.order[:0]
		unlabelled := 0
		for i := len(sec.order) - 1; i >= 0; i-- {
			id := sec.order[i]
			if len(sec.versions[id].stages) == 0 {
				unlabelled++
				if unlabelled > keepUnlabelled {
					delete(sec.versions, id)
					continue
				}
			}
			kept = append(kept, id)
		}
		slices.Reverse(kept)
		sec.order = kept
	}
	return v
}

func (sec *smSecret) currentLocked() *smVersion {
	for _, v := range sec.versions {
		if slices.Contains(v.stages, stageCurrent) {
			return v
		}
	}
	return nil
}

// liveSecretLocked finds the secret an operation on its value names: a missing id,
// an unknown secret and one marked for deletion answer as Secrets Manager does.
func (s *SecretsManager) liveSecretLocked(id string) (*smSecret, string, string) {
	if id == "" {
		return nil, ErrInvalidParameter, "SecretId is required."
	}
	sec := s.lookupLocked(id)
	if sec == nil {
		return nil, ErrResourceNotFound, ""
	}
	if !sec.deleted.IsZero() {
		return nil, ErrInvalidRequest, "You can't perform this operation on the secret because it was marked for deletion."
	}
	return sec, "", ""
}

func (s *SecretsManager) getSecretValueLocked(in smInput, now time.Time) (any, string, string) {
	sec, errType, msg := s.liveSecretLocked(in.SecretID)
	if sec == nil {
		return nil, errType, msg
	}
	var v *smVersion
	switch {
	case in.VersionID != "":
		v = sec.versions[in.VersionID]
		if v != nil && in.VersionStage != "" && !slices.Contains(v.stages, in.VersionStage) {
			v = nil
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = stageCurrent
		}
		for _, c := range sec.versions {
			if slices.Contains(c.stages, stage) {
				v = c
			}
		}
	}
	if v == nil {
		return nil, ErrResourceNotFound, "Secrets Manager can't find the specified secret value for the requested version or staging label."
	}
	sec.accessed = now
	return struct {
		ARN           string   `json:"ARN"`
		Name          string   `json:"Name"`
		VersionID     string   `json:"VersionId"`
		SecretString  *string  `json:"SecretString,omitempty"`
		SecretBinary  []byte   `json:"SecretBinary,omitempty"`
		VersionStages []string `json:"VersionStages"`
		CreatedDate   epoch    `json:"CreatedDate"`
	}{sec.arn, sec.name, v.id, v.str, v.bin, slices.Clone(v.stages), epoch(v.created)}, "", ""
}

type smVersionOut struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId,omitempty"`
	VersionStages []string `json:"VersionStages,omitempty"`
}

func (s *SecretsManager) createSecretLocked(in smInput, now time.Time) (any, string, string) {
	if in.Name == "" || len(in.Name) > 512 || strings.HasPrefix(in.Name, "arn:") {
		return nil, ErrInvalidParameter, "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, ErrInvalidParameter, "You can't specify both a binary secret value and a string secret value in the same secret."
	}
	if sec, ok := s.secrets[in.Name]; ok {
		if !sec.deleted.IsZero() {
			return nil, ErrInvalidRequest, "You can't create this secret because a secret with this name is already scheduled for deletion."
		}
		return nil, ErrResourceExists, fmt.Sprintf("The operation failed because the secret %s already exists.", in.Name)
	}
	sec := s.newSecretLocked(in.Name, in.Description, now)
	out := smVersionOut{ARN: sec.arn, Name: sec.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		id := in.ClientRequestToken
		if id == "" {
			id = newUUID()
		}
		v := sec.addVersionLocked(id, in.SecretString, in.SecretBinary, now)
		out.VersionID = v.id
	}
	return out, "", ""
}

func (s *SecretsManager) putSecretValueLocked(in smInput, now time.Time) (any, string, string) {
	if in.SecretID != "" && (in.SecretString == nil) == (in.SecretBinary == nil) {
		return nil, ErrInvalidParameter, "You must provide either SecretString or SecretBinary, but not both."
	}
	sec, errType, msg := s.liveSecretLocked(in.SecretID)
	if sec == nil {
		return nil, errType, msg
	}
	id := in.ClientRequestToken
	if id == "" {
		id = newUUID()
	}
	if old, ok := sec.versions[id]; ok {
		// Idempotent retry with the same token and value; a different value is an error.
		if (old.str == nil) == (in.SecretString == nil) && (old.str == nil || *old.str == *in.SecretString) && string(old.bin) == string(in.SecretBinary) {
			return smVersionOut{ARN: sec.arn, Name: sec.name, VersionID: old.id, VersionStages: slices.Clone(old.stages)}, "", ""
		}
		return nil, ErrResourceExists, "A version with this ClientRequestToken already exists with a different secret value."
	}
	v := sec.addVersionLocked(id, in.SecretString, in.SecretBinary, now)
	return smVersionOut{ARN: sec.arn, Name: sec.name, VersionID: v.id, VersionStages: slices.Clone(v.stages)}, "", ""
}

func (s *SecretsManager) describeSecretLocked(in smInput) (any, string, string) {
	sec := s.lookupLocked(in.SecretID)
	if sec == nil {
		return nil, ErrResourceNotFound, ""
	}
	stages := make(map[string][]string, len(sec.versions))
	for id, v := range sec.versions {
		stages[id] = slices.Clone(v.stages)
	}
	return struct {
		ARN                string              `json:"ARN"`
		Name               string              `json:"Name"`
		Description        string              `json:"Description,omitempty"`
		CreatedDate        *epoch              `json:"CreatedDate,omitempty"`
		LastChangedDate    *epoch              `json:"LastChangedDate,omitempty"`
		LastAccessedDate   *epoch              `json:"LastAccessedDate,omitempty"`
		DeletedDate        *epoch              `json:"DeletedDate,omitempty"`
		VersionIdsToStages map[string][]string `json:"VersionIdsToStages"`
	}{sec.arn, sec.name, sec.description, epochPtr(sec.created), epochPtr(sec.changed),
		epochPtr(sec.accessed.Truncate(24 * time.Hour)), epochPtr(sec.deleted), stages}, "", ""
}

func (s *SecretsManager) deleteSecretLocked(in smInput, now time.Time) (any, string, string) {
	sec := s.lookupLocked(in.SecretID)
	if sec == nil {
		return nil, ErrResourceNotFound, ""
	}
	if in.ForceDeleteWithoutRecovery && in.RecoveryWindowInDays != nil {
		return nil, ErrInvalidParameter, "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
	}
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			return nil, ErrInvalidParameter, "RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
		}
	}
	deletion := now
	if in.ForceDeleteWithoutRecovery {
		delete(s.secrets, sec.name)
	} else {
		if !sec.deleted.IsZero() {
			return nil, ErrInvalidRequest, "You can't perform this operation on the secret because it was already scheduled for deletion."
		}
		sec.deleted = now
		deletion = now.Add(time.Duration(days) * 24 * time.Hour)
	}
	return struct {
		ARN          string `json:"ARN"`
		Name         string `json:"Name"`
		DeletionDate epoch  `json:"DeletionDate"`
	}{sec.arn, sec.name, epoch(deletion)}, "", ""
}

// writeAWSError answers in the AWS JSON 1.1 error shape and returns the status.
func writeAWSError(w http.ResponseWriter, errType, msg string) int {
	spec, ok := errorSpecs[errType]
	if !ok {
		spec = errorSpecs[ErrInternalServiceError]
	}
	if msg == "" {
		msg = spec.message
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{errType, msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", errType+":")
	w.Header().Set("X-Amzn-RequestId", newUUID())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(spec.status)
	_, _ = w.Write(b)
	return spec.status
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (s *SecretsManager) serveControl(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			status, b = http.StatusInternalServerError, []byte(`{"error":"marshal"}`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(append(b, '\n'))
	}
	switch {
	case r.URL.Path == controlPrefix+"requests" && r.Method == http.MethodGet:
		writeJSON(http.StatusOK, s.Requests())
	case r.URL.Path == controlPrefix+"secrets" && r.Method == http.MethodPost:
		var in struct{ Name, Value string }
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&in); err != nil || in.Name == "" {
			writeJSON(http.StatusBadRequest, map[string]string{"error": "want {\"name\":...,\"value\":...}"})
			return
		}
		writeJSON(http.StatusOK, map[string]string{"arn": s.PutSecret(in.Name, in.Value)})
	default:
		writeJSON(http.StatusNotFound, map[string]string{"error": "no control endpoint " + r.Method + " " + r.URL.Path})
	}
}
