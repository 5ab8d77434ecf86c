package sysdig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

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
		//msg:internal the callers' formats are collected as "sysdig: the %s %s <format>"
		return &streamError{err: fmt.Errorf("sysdig: the %s %s "+format, append([]any{v, what}, args...)...), foreign: true}
	}
	shape := func(err error) error {
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) || !isJSONError(err) {
			return err
		}
		return &streamError{err: fmt.Errorf("sysdig: the %s %s is not the expected JSON %s: %w", v, what, want, jsonProblem(err)), foreign: true}
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
					return &streamError{err: fmt.Errorf("sysdig: provider %d of the %s %s: %w", i, v, itemOf, jsonProblem(err))}
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
					return &streamError{err: fmt.Errorf("sysdig: the %s %s: %w", v, what, jsonProblem(err))}
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
var errStopVisit = errors.New("stop") //msg:internal a programming error, or a sentinel never shown

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
