package sysdig

import (
	"bytes"
	"encoding/json"
)

// decodeStatusMessage reads the last of v1's status.lastProviderMessages: strings, or
// objects with a "message" (or "text"); anything else gives "" (no message, not an error:
// the message only explains a status).
func decodeStatusMessage(raw json.RawMessage) string {
	var obj struct {
		Messages []json.RawMessage `json:"lastProviderMessages"`
	}
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &obj) != nil || len(obj.Messages) == 0 {
		return ""
	}
	last := obj.Messages[len(obj.Messages)-1]
	var s string
	if json.Unmarshal(last, &s) == nil {
		return capText(printable(s), 500)
	}
	var m struct {
		Message string `json:"message"`
		Text    string `json:"text"`
	}
	if json.Unmarshal(last, &m) != nil {
		return ""
	}
	if m.Message == "" {
		m.Message = m.Text
	}
	return capText(printable(m.Message), 500)
}
