package sysdig

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode"
	"unicode/utf8"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/ and run with every
// `go test`; `make fuzz` explores further.

func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte(`{"errors":[{"reason":"Conflict","message":"exists"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		typ, msg := ParseErrorBody(body)
		if len(msg) > maxMessageLen || len(typ) > 128 {
			t.Fatalf("not capped: %d/%d bytes", len(typ), len(msg))
		}
		for _, s := range []string{typ, msg} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8: %q", s)
			}
			for _, r := range s {
				if r != ' ' && (unicode.IsSpace(r) || !unicode.IsPrint(r)) {
					t.Fatalf("unprintable rune %U in %q", r, s)
				}
			}
		}
	})
}

func FuzzDecodeProvider(f *testing.F) {
	f.Add("v1", []byte(seedCreateAnswer))
	f.Fuzz(func(t *testing.T, version string, body []byte) {
		v := APIVersion(version)
		p, err := DecodeProvider(v, body)
		if err != nil {
			return
		}
		if v != V1 && v != V2 {
			t.Fatalf("decoded with unknown version %q", version)
		}
		if verr := validateProviderID(p.ID); verr != nil {
			t.Fatalf("decoded an invalid id: %v", verr)
		}
		for _, r := range p.Regions {
			if strings.TrimSpace(r) == "" {
				t.Fatalf("blank region in %q", p.Regions)
			}
		}
	})
}

func FuzzDecodeProviderList(f *testing.F) {
	f.Add("v2", []byte(`[{"id":1,"credentials":{"accountId":"123412341234","roleName":"r"}}]`))
	f.Fuzz(func(t *testing.T, version string, body []byte) {
		list, err := DecodeProviderList(APIVersion(version), body)
		if err != nil {
			return
		}
		for _, p := range list {
			if verr := validateProviderID(p.ID); verr != nil {
				t.Fatalf("decoded an invalid id: %v", verr)
			}
			// A role ARN rebuilt from accountId + roleName must parse; a
			// v1 role is passed through as the server sent it.
			if version == "v2" && p.RoleARN != "" && !strings.Contains(string(body), p.RoleARN) {
				if _, _, _, err := ParseRoleARN(p.RoleARN); err != nil {
					t.Fatalf("rebuilt a malformed role ARN: %v", err)
				}
			}
		}
	})
}

func FuzzDecodeExternalID(f *testing.F) {
	f.Add(UsersMePath, []byte(`{"user":{"customer":{"externalId":"04acdd59-4c98-4d11-8ee5-424326248161"}}}`))
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		info, err := DecodeExternalID(path, body)
		if err != nil {
			return
		}
		if info.Source != path || (path != UsersMePath && path != CloudInformationPath) {
			t.Fatalf("source %q for path %q", info.Source, path)
		}
		if n := len(info.ExternalID); n < 2 || n > 1224 || !externalIDRE.MatchString(info.ExternalID) {
			t.Fatalf("external id %q would not be accepted by IAM", info.ExternalID)
		}
		if info.SysdigAWSAccountID != "" && !accountIDRE.MatchString(info.SysdigAWSAccountID) {
			t.Fatalf("account id %q is not 12 digits", info.SysdigAWSAccountID)
		}
	})
}

func FuzzSysdigRegionName(f *testing.F) {
	f.Add("us-east-1")
	f.Fuzz(func(t *testing.T, region string) {
		name, err := SysdigRegionName(region)
		if err != nil {
			return
		}
		for _, r := range name {
			if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
				t.Fatalf("name %q has %q", name, r)
			}
		}
		again, err := SysdigRegionName(name)
		if err != nil || again != name {
			t.Fatalf("not idempotent: %q → %q → %q, %v", region, name, again, err)
		}
		lower := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if back, err := SysdigRegionName(lower); err != nil || back != name {
			t.Fatalf("AWS form %q does not map back to %q: %q, %v", lower, name, back, err)
		}
	})
}

// referenceProviderList decodes a list whole, as the client did before lists were
// streamed: the streaming decoder must agree with it wherever it succeeds.
func referenceProviderList(v APIVersion, body []byte) ([]Provider, bool) {
	var items []wireProvider
	trimmed := bytes.TrimSpace(body)
	if v == V2 && len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &items) != nil {
			return nil, false
		}
	} else {
		var env struct {
			Providers *[]wireProvider `json:"providers"`
		}
		if json.Unmarshal(trimmed, &env) != nil || env.Providers == nil {
			return nil, false
		}
		items = *env.Providers
	}
	out := []Provider{}
	for i := range items {
		p, err := items[i].toProvider(v)
		if err != nil {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

func FuzzStreamedListMatchesWholeDecode(f *testing.F) {
	f.Add("v1", []byte(`{"providers":[{"id":1,"credentials":{"role":"arn:aws:iam::123412341234:role/r"}}],"total":1}`))
	f.Add("v2", []byte(`[{"id":"7","credentials":{"accountId":"123412341234","roleName":"r"},"status":"configured"}]`))
	f.Add("v1", []byte(`{"meta":{"a":[1,{"b":null}]},"providers":[]}`))
	f.Fuzz(func(t *testing.T, version string, body []byte) {
		v := APIVersion(version)
		if v != V1 && v != V2 {
			return
		}
		want, ok := referenceProviderList(v, body)
		if !ok {
			return
		}
		got, err := DecodeProviderList(v, body)
		if err != nil && strings.Contains(err.Error(), "two \"providers\" arrays") {
			return // the whole-body decode keeps the last; a list cannot be read twice
		}
		if err != nil {
			t.Fatalf("the whole-body decode reads %d providers, the stream fails: %v", len(want), err)
		}
		if len(got) != len(want) {
			t.Fatalf("stream %d providers, whole %d", len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || got[i].RoleARN != want[i].RoleARN || got[i].Status != want[i].Status {
				t.Fatalf("provider %d: stream %+v, whole %+v", i, got[i], want[i])
			}
		}
	})
}

// boundedJSON squeezes whitespace outside strings: what the decoder reads must mean the
// same JSON as the answer (or be invalid where the answer is), however it is split.
func FuzzBoundedJSON(f *testing.F) {
	for _, s := range []string{
		`{"providers" :  [ {"id": 1, "alias": "a  b\t\n c"} ,  {"id":2} ] }`,
		`{"alias":"quote \"  inside \\"   , "x" : [1,   2]}`,
		"[1 \n\t 2]", `"\\\"  "  `, `  {"a":"\u0022  "}  `, "tr ue",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := io.ReadAll(iotest.HalfReader(&boundedJSON{r: iotest.OneByteReader(bytes.NewReader(in)), limit: 1 << 20}))
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > len(in) {
			t.Fatalf("%q grew to %q", in, out)
		}
		if json.Valid(in) != json.Valid(out) {
			t.Fatalf("validity changed: %q (%v) became %q", in, json.Valid(in), out)
		}
		if !json.Valid(in) {
			return
		}
		var a, b any
		if json.Unmarshal(in, &a) != nil || json.Unmarshal(out, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q means something else once squeezed: %q", in, out)
		}
	})
}

// The create answer's decoder: whatever the answer, no panic, and a provider it returns
// has a valid id.
func FuzzDecodeCreateAnswer(f *testing.F) {
	f.Add("v1", []byte(`{"provider":{"id":7,"credentials":{"role":"arn:aws:iam::485365068658:role/sysdig-access3"},"status":{"status":"configured"}}}`))
	f.Add("v1", []byte(`{"providers":[{"id":1,"credentials":{"role":"arn:aws:iam::123456789012:role/r"}}],"provider":null}`))
	f.Add("v2", []byte(`[{"id":"a-1","credentials":{"accountId":"123412341234","roleName":"r"}}]`))
	f.Fuzz(func(t *testing.T, version string, body []byte) {
		var got []Provider
		keep := func(p Provider) bool {
			got = append(got, p)
			return true
		}
		if err := decodeProviders(APIVersion(version), bytes.NewReader(body), keep, keep); err != nil {
			return
		}
		for _, p := range got {
			if err := validateProviderID(p.ID); err != nil {
				t.Fatalf("decoded an invalid id: %v", err)
			}
		}
	})
}
