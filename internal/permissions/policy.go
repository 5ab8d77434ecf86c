package permissions

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// Statements decodes an IAM policy document, URL-encoded JSON as IAM answers it or plain
// JSON, into its statements as T; a Statement that is one object counts as a list of one.
// what names the policy in errors ("policy", "trust policy").
func Statements[T any](document, what string) ([]T, error) {
	if dec, err := url.QueryUnescape(document); err == nil {
		document = dec
	}
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(document), &doc); err != nil {
		return nil, fmt.Errorf("the %s is not JSON: %w", what, err)
	}
	var list []T
	if err := json.Unmarshal(doc.Statement, &list); err != nil {
		var one T
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return nil, fmt.Errorf("the %s has no readable Statement: %w", what, err)
		}
		list = []T{one}
	}
	return list, nil
}

// StringOrList reads a policy value that is a string or a list of strings.
func StringOrList(raw json.RawMessage) []string {
	if raw == nil {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}
