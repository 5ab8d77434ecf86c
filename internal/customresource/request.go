// Package customresource implements the CloudFormation custom-resource protocol around a
// handler: it decodes requests (direct or wrapped in SNS), runs the handler within a deadline
// that leaves room to answer, and sends exactly one answer per request to the presigned
// ResponseURL, retried, capped at 4096 bytes, without Content-Type.
//
// It reuses aws-lambda-go's cfn.Event and cfn.Response types and fills the gaps of
// cfn.LambdaWrap: deadline handling, retries, the body cap, timeouts and structured logs.
package customresource

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
)

// Request is a CloudFormation custom-resource request.
type Request = cfn.Event

// Envelope says how a request reached the function.
type Envelope struct {
	// Via is "direct" (CloudFormation invoked the function) or "sns" (a topic delivered it,
	// as for cross-account custom resources).
	Via string
	// TopicARN is the SNS topic that delivered the request, when Via is "sns".
	TopicARN string
}

// InvalidRequestError reports a request that cannot be handled. When Answerable is true the
// request carries a usable ResponseURL, so CloudFormation can still be told FAILED.
type InvalidRequestError struct {
	Problem    string
	Answerable bool
}

func (e *InvalidRequestError) Error() string { return "invalid custom-resource request: " + e.Problem }

// maxPayload bounds what Decode accepts; CloudFormation requests are a few KB and Lambda's
// asynchronous payload limit is 256 KB.
const maxPayload = 256 << 10

// Decode parses a Lambda payload holding a CloudFormation custom-resource request, either as
// CloudFormation sends it or wrapped in an SNS notification (Records[0].Sns.Message). The
// returned error is an *InvalidRequestError; when it is answerable the returned Request holds
// what could be read, including the ResponseURL.
func Decode(payload []byte) (Request, Envelope, error) {
	var req Request
	env := Envelope{Via: "direct"}
	if len(payload) > maxPayload {
		return req, env, &InvalidRequestError{Problem: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), maxPayload)}
	}
	var probe struct {
		Records []struct {
			EventSource string `json:"EventSource"`
			Sns         *struct {
				TopicArn string `json:"TopicArn"`
				Message  string `json:"Message"`
			} `json:"Sns"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return req, env, &InvalidRequestError{Problem: "payload is not a JSON object: " + shortJSONError(err)}
	}
	if probe.Records != nil {
		if len(probe.Records) != 1 || probe.Records[0].Sns == nil {
			return req, env, &InvalidRequestError{Problem: fmt.Sprintf("SNS event must hold exactly one SNS record, got %d records", len(probe.Records))}
		}
		env = Envelope{Via: "sns", TopicARN: probe.Records[0].Sns.TopicArn}
		payload = []byte(probe.Records[0].Sns.Message)
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		// A wrongly typed field must not hide a usable ResponseURL.
		var urlOnly struct {
			ResponseURL string `json:"ResponseURL"`
			RequestID   string `json:"RequestId"`
			StackID     string `json:"StackId"`
			LogicalID   string `json:"LogicalResourceId"`
			Physical    string `json:"PhysicalResourceId"`
		}
		if json.Unmarshal(payload, &urlOnly) != nil || checkResponseURL(urlOnly.ResponseURL) != nil {
			return Request{}, env, &InvalidRequestError{Problem: "request is not a CloudFormation custom-resource request: " + shortJSONError(err)}
		}
		req = Request{ResponseURL: urlOnly.ResponseURL, RequestID: urlOnly.RequestID, StackID: urlOnly.StackID,
			LogicalResourceID: urlOnly.LogicalID, PhysicalResourceID: urlOnly.Physical}
		return req, env, &InvalidRequestError{Problem: "malformed request: " + shortJSONError(err), Answerable: true}
	}
	if err := checkResponseURL(req.ResponseURL); err != nil {
		return req, env, &InvalidRequestError{Problem: err.Error()}
	}
	if err := validate(req); err != nil {
		return req, env, &InvalidRequestError{Problem: err.Error(), Answerable: true}
	}
	return req, env, nil
}

func validate(req Request) error {
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"RequestId", req.RequestID},
		{"StackId", req.StackID},
		{"LogicalResourceId", req.LogicalResourceID},
		{"ResourceType", req.ResourceType},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	switch req.RequestType {
	case cfn.RequestCreate:
	case cfn.RequestUpdate, cfn.RequestDelete:
		if req.PhysicalResourceID == "" {
			return fmt.Errorf("%s request without PhysicalResourceId", req.RequestType)
		}
	default:
		return fmt.Errorf("RequestType %q is not Create, Update or Delete", req.RequestType)
	}
	return nil
}

func checkResponseURL(raw string) error {
	if raw == "" {
		return errors.New("missing ResponseURL")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("ResponseURL is not an absolute http(s) URL")
	}
	// CloudFormation's presigned URLs are https; plain http is for local runs only.
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return errors.New("ResponseURL must be https (plain http only for loopback hosts)")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedactURL returns the URL without its query string: a presigned ResponseURL is a
// credential, and its signature lives in the query.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// shortJSONError keeps a decoding error free of payload content.
func shortJSONError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("JSON syntax error at byte %d", syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("field %s must be %s, not %s", typ.Field, typ.Type, typ.Value)
	}
	return "cannot decode JSON"
}
