package localaws

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// QueryAction serves one action of a query-protocol service. It returns the value to
// encode inside <ActionResult> (a struct with xml tags; nil for an empty result), or an
// error; a *QueryError chooses the code and status, any other error answers 500.
type QueryAction func(form url.Values) (result any, err error)

// QueryError is an error answer of the AWS query protocol.
type QueryError struct {
	Status  int    // HTTP status; 400 when zero
	Code    string // e.g. "NoSuchEntity", "StackInstanceNotFoundException"
	Message string
}

func (e *QueryError) Error() string { return e.Code + ": " + e.Message }

// QueryRequest is one request a QueryService received, for assertions.
type QueryRequest struct {
	Action    string `json:"action"`
	AccessKey string `json:"accessKey,omitempty"`
	Status    int    `json:"status"`
	ErrorCode string `json:"errorCode,omitempty"`
}

// QueryService is an http.Handler for one AWS service that speaks the query protocol
// (IAM, STS, CloudFormation): a form-encoded POST with Action and Version, answered with
// <ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata>
// and errors as <ErrorResponse>. Like the Secrets Manager fake it insists on a SigV4
// Authorization header scoped to the service (and region, when Region is set) but does
// not verify the signature. The real SDK clients and the awscli work against it.
type QueryService struct {
	SigningName string // "iam", "sts", "cloudformation"
	Region      string // the region requests must be scoped to; empty accepts any
	XMLNS       string // the service's namespace, e.g. "https://iam.amazonaws.com/doc/2010-05-08/"
	Actions     map[string]QueryAction
	Logger      *slog.Logger // nil logs nothing

	mu       sync.Mutex
	requests []QueryRequest
}

// Requests returns a copy of the requests received so far.
func (q *QueryService) Requests() []QueryRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]QueryRequest(nil), q.requests...)
}

// Count returns how many requests for action were received.
func (q *QueryService) Count(action string) int {
	n := 0
	for _, r := range q.Requests() {
		if r.Action == action {
			n++
		}
	}
	return n
}

func (q *QueryService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := QueryRequest{}
	status, code := q.serve(w, r, &rec)
	rec.Status, rec.ErrorCode = status, code
	q.mu.Lock()
	if len(q.requests) >= maxRequestLog {
		q.requests = q.requests[1:]
	}
	q.requests = append(q.requests, rec)
	q.mu.Unlock()
	if q.Logger != nil {
		q.Logger.Info("request", slog.String("service", q.SigningName), slog.String("action", rec.Action),
			slog.Int("status", status), slog.String("error", code))
	}
}

func (q *QueryService) serve(w http.ResponseWriter, r *http.Request, rec *QueryRequest) (int, string) {
	if r.Method != http.MethodPost {
		return q.writeError(w, &QueryError{Status: http.StatusMethodNotAllowed, Code: "InvalidAction", Message: "use POST"})
	}
	akid, qerr := checkSigV4(r, q.SigningName, q.Region)
	rec.AccessKey = akid
	if qerr != nil {
		return q.writeError(w, qerr)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(body) > maxBodyBytes {
		return q.writeError(w, &QueryError{Code: "MalformedQueryString", Message: "the request body could not be read or is over 1 MiB"})
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return q.writeError(w, &QueryError{Code: "MalformedQueryString", Message: err.Error()})
	}
	rec.Action = form.Get("Action")
	action, ok := q.Actions[rec.Action]
	if !ok {
		return q.writeError(w, &QueryError{Code: "InvalidAction", Message: fmt.Sprintf("Could not find operation %s for version %s", rec.Action, form.Get("Version"))})
	}
	result, err := action(form)
	if err != nil {
		qe, ok := err.(*QueryError)
		if !ok {
			qe = &QueryError{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
		}
		return q.writeError(w, qe)
	}
	if result == nil {
		result = struct{}{}
	}
	var inner bytes.Buffer
	if err := xml.NewEncoder(&inner).EncodeElement(result, xml.StartElement{Name: xml.Name{Local: rec.Action + "Result"}}); err != nil {
		return q.writeError(w, &QueryError{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
	}
	out := struct {
		XMLName  xml.Name
		XMLNS    string `xml:"xmlns,attr,omitempty"`
		Result   []byte `xml:",innerxml"`
		Metadata struct {
			RequestID string `xml:"RequestId"`
		} `xml:"ResponseMetadata"`
	}{XMLName: xml.Name{Local: rec.Action + "Response"}, XMLNS: q.XMLNS, Result: inner.Bytes()}
	out.Metadata.RequestID = newUUID()
	return q.writeXML(w, http.StatusOK, out), ""
}

func (q *QueryService) writeError(w http.ResponseWriter, e *QueryError) (int, string) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	out := struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		XMLNS   string   `xml:"xmlns,attr,omitempty"`
		Error   struct {
			Type    string
			Code    string
			Message string
		}
		RequestID string `xml:"RequestId"`
	}{XMLNS: q.XMLNS, RequestID: newUUID()}
	out.Error.Type, out.Error.Code, out.Error.Message = kind, e.Code, e.Message
	return q.writeXML(w, status, out), e.Code
}

func (q *QueryService) writeXML(w http.ResponseWriter, status int, v any) int {
	b, err := xml.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte("<ErrorResponse><Error><Code>InternalFailure</Code></Error></ErrorResponse>")
	}
	b = append([]byte(xml.Header), b...)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", newUUID())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

// checkSigV4 requires an Authorization header shaped like SigV4 and scoped to service
// (and to region, when region is not empty). It does not verify the signature.
func checkSigV4(r *http.Request, service, region string) (akid string, qerr *QueryError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", &QueryError{Status: http.StatusForbidden, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token"}
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", &QueryError{Status: http.StatusForbidden, Code: "IncompleteSignature", Message: "Authorization header must use AWS4-HMAC-SHA256."}
	}
	params := map[string]string{}
	for p := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" || params["SignedHeaders"] == "" || params["Signature"] == "" {
		return "", &QueryError{Status: http.StatusForbidden, Code: "IncompleteSignature", Message: "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters."}
	}
	if scope[3] != service {
		return scope[0], &QueryError{Status: http.StatusForbidden, Code: "SignatureDoesNotMatch", Message: fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)}
	}
	if region != "" && scope[2] != region {
		return scope[0], &QueryError{Status: http.StatusForbidden, Code: "SignatureDoesNotMatch", Message: fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", scope[2])}
	}
	return scope[0], nil
}
