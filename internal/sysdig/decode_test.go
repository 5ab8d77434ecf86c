package sysdig

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseErrorBody(t *testing.T) {
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name, body, typ, msg string
	}{
		{"errors array", `{"errors":[{"reason":"Conflict","message":"provider exists"}]}`, "Conflict", "Conflict: provider exists"},
		{"errors array joined", `{"errors":[{"reason":"Bad Request","message":"name missing"},{"message":"role missing"}]}`, "Bad Request", "Bad Request: name missing; role missing"},
		{"errors array reason only", `{"errors":[{"reason":"Forbidden"}]}`, "Forbidden", "Forbidden"},
		{"errors array of strings", `{"errors":["first","second"]}`, "", "first; second"},
		{"message", `{"message":"Bad credentials"}`, "", "Bad credentials"},
		{"error string", `{"error":"invalid token"}`, "", "invalid token"},
		{"error object", `{"error":{"type":"auth","message":"expired"}}`, "auth", "expired"},
		{"type message details", `{"type":"validation_error","message":"bad body","details":["alias too long",{"field":"regions","message":"unknown region"}]}`, "validation_error", "bad body; details: alias too long, regions: unknown region"},
		{"spring default", `{"timestamp":"2024-01-01","status":404,"error":"Not Found","message":"No provider 7","path":"/api/providers/7"}`, "Not Found", "No provider 7"},
		{"html", "<html>\n<body>502 Bad Gateway</body>\n</html>\n", "", "<html> <body>502 Bad Gateway</body> </html>"},
		{"plain text control chars", "oops\x00\x01 broken\r\n", "", "oops broken"},
		{"empty", "", "", ""},
		{"whitespace", " \n\t", "", ""},
		{"json without known keys", `{"foo":"bar"}`, "", `{"foo":"bar"}`},
		{"json array", `["a"]`, "", `["a"]`},
		{"capped", `{"message":"` + long + `"}`, "", long[:maxMessageLen-len("…")] + "…"},
		{"broken json", `{"message":`, "", `{"message":`},
		{"null message", `{"message":null,"error":"x"}`, "", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, msg := ParseErrorBody([]byte(tt.body))
			if typ != tt.typ || msg != tt.msg {
				t.Errorf("ParseErrorBody(%q) = (%q, %q), want (%q, %q)", tt.body, typ, msg, tt.typ, tt.msg)
			}
			if len(msg) > maxMessageLen {
				t.Errorf("message is %d bytes, above the cap", len(msg))
			}
		})
	}
}

func TestAPIErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *APIError
		want []string
	}{
		{"conflict", &APIError{Method: "POST", Path: "/api/providers", StatusCode: 409, Message: "exists"}, []string{"sysdig: POST /api/providers: 409 Conflict: exists"}},
		{"unauthorized hint", &APIError{Method: "GET", Path: "/api/users/me", StatusCode: 401}, []string{"401 Unauthorized", "administrator"}},
		{"forbidden hint", &APIError{Method: "POST", Path: "/api/v2/providers", StatusCode: 403, Message: "denied"}, []string{"403 Forbidden: denied", "must be a Sysdig Monitor administrator's API token"}},
		{"type and message", &APIError{Method: "GET", Path: "/x", StatusCode: 400, Type: "validation", Message: "bad"}, []string{"400 Bad Request: validation: bad"}},
		{"retry after", &APIError{Method: "GET", Path: "/x", StatusCode: 429, RetryAfter: 3 * time.Second}, []string{"429 Too Many Requests", "retry after 3s"}},
		{"odd status", &APIError{Method: "GET", Path: "/x", StatusCode: 599}, []string{"GET /x: 599"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Error() = %q, want it to contain %q", got, w)
				}
			}
		})
	}
}

func TestErrorPredicates(t *testing.T) {
	wrap := func(code int) error {
		return errors.Join(errors.New("context"), &APIError{StatusCode: code})
	}
	tests := []struct {
		err                    error
		notFound, conflict, au bool
	}{
		{wrap(404), true, false, false},
		{wrap(409), false, true, false},
		{wrap(401), false, false, true},
		{wrap(403), false, false, true},
		{wrap(500), false, false, false},
		{errors.New("plain"), false, false, false},
		{nil, false, false, false},
	}
	for _, tt := range tests {
		if IsNotFound(tt.err) != tt.notFound || IsConflict(tt.err) != tt.conflict || IsAuth(tt.err) != tt.au {
			t.Errorf("predicates wrong for %v", tt.err)
		}
	}
}

func TestSysdigRegionName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"us-east-1", "US_EAST_1", true},
		{"US_EAST_1", "US_EAST_1", true},
		{" eu-west-3 ", "EU_WEST_3", true},
		{"us-gov-west-1", "US_GOV_WEST_1", true},
		{"US_GOV_EAST_1", "US_GOV_EAST_1", true},
		{"cn-north-1", "CN_NORTH_1", true},
		{"cn-northwest-1", "CN_NORTHWEST_1", true},
		{"ap-southeast-3", "AP_SOUTHEAST_3", true},
		{"ap-northeast-3", "AP_NORTHEAST_3", true},
		{"eu-central-2", "EU_CENTRAL_2", true},
		{"il-central-1", "IL_CENTRAL_1", true},
		{"mx-central-1", "MX_CENTRAL_1", true},
		{"me-south-1", "ME_SOUTH_1", true},
		{"af-south-1", "AF_SOUTH_1", true},
		{"ca-west-1", "CA_WEST_1", true},
		{"us-isob-east-1", "US_ISOB_EAST_1", true},
		{"eu-isoe-west-1", "EU_ISOE_WEST_1", true},
		{"", "", false},
		{"us-east", "", false},
		{"useast1", "", false},
		{"us-east-0", "", false},
		{"us_east-1", "", false},
		{"Us-East-1", "", false},
		{"us-middle-1", "", false},
		{"global", "", false},
		{"us-east-1a", "", false},
		{"arn:aws:iam::1:role/x", "", false},
	}
	for _, tt := range tests {
		got, err := SysdigRegionName(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("SysdigRegionName(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "us-east-1") {
			t.Errorf("error %q does not name the expected form", err)
		}
	}
}

func TestParseAPIVersion(t *testing.T) {
	for in, want := range map[string]APIVersion{"v1": V1, "V2": V2, " 1 ": V1, "2": V2} {
		if got, err := ParseAPIVersion(in); err != nil || got != want {
			t.Errorf("ParseAPIVersion(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "v3", "latest"} {
		if _, err := ParseAPIVersion(in); err == nil || !strings.Contains(err.Error(), "expected v1") {
			t.Errorf("ParseAPIVersion(%q) error = %v", in, err)
		}
	}
}

func TestParseRoleARN(t *testing.T) {
	tests := []struct {
		arn, part, acct, name string
		ok                    bool
	}{
		{"arn:aws:iam::123456789012:role/sysdig", "aws", "123456789012", "sysdig", true},
		{"arn:aws:iam::123456789012:role/path/to/Sysdig-Role_1", "aws", "123456789012", "Sysdig-Role_1", true},
		{"arn:aws-us-gov:iam::123456789012:role/r", "aws-us-gov", "123456789012", "r", true},
		{"arn:aws-cn:iam::123456789012:role/r", "aws-cn", "123456789012", "r", true},
		{"arn:aws:iam::12345678901:role/r", "", "", "", false},
		{"arn:aws:iam::123456789012:user/r", "", "", "", false},
		{"arn:aws:iam::123456789012:role/", "", "", "", false},
		{"sysdig-role", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		p, a, n, err := ParseRoleARN(tt.arn)
		if (err == nil) != tt.ok || p != tt.part || a != tt.acct || n != tt.name {
			t.Errorf("ParseRoleARN(%q) = %q %q %q %v", tt.arn, p, a, n, err)
		}
	}
}

func TestEncodeProvider(t *testing.T) {
	role := "arn:aws:iam::485365068658:role/path/sysdig-access3"
	// v2 takes the bare name, so it is used only with roles at path /.
	rootRole := "arn:aws:iam::485365068658:role/sysdig-access3"
	tests := []struct {
		name string
		v    APIVersion
		id   string
		spec ProviderSpec
		want string
	}{
		{"v1 create no regions", V1, "", ProviderSpec{RoleARN: role, Alias: "role_delegation"},
			`{"name":"aws","credentials":{"role":"arn:aws:iam::485365068658:role/path/sysdig-access3"},"alias":"role_delegation"}`},
		{"v1 create regions", V1, "", ProviderSpec{RoleARN: role, Regions: []string{"us-east-1", "US_EAST_2", "us-east-1"}},
			`{"name":"aws","credentials":{"role":"arn:aws:iam::485365068658:role/path/sysdig-access3"},"additionalOptions":"{\"regions\":[\"US_EAST_1\",\"US_EAST_2\"]}"}`},
		{"v1 update", V1, "7", ProviderSpec{RoleARN: role, Alias: "a"},
			`{"id":7,"name":"aws","credentials":{"role":"arn:aws:iam::485365068658:role/path/sysdig-access3"},"alias":"a"}`},
		{"v1 update string id", V1, "ab-7", ProviderSpec{RoleARN: role},
			`{"id":"ab-7","name":"aws","credentials":{"role":"arn:aws:iam::485365068658:role/path/sysdig-access3"}}`},
		{"v2 create", V2, "", ProviderSpec{RoleARN: rootRole, Alias: "a", Regions: []string{"eu-west-1"}},
			`{"id":0,"platform":"AWS","integrationType":"API","credentials":{"accountId":"485365068658","roleName":"sysdig-access3"},"additionalOptions":"{\"regions\":[\"EU_WEST_1\"]}","alias":"a"}`},
		{"v2 create no regions no alias", V2, "", ProviderSpec{RoleARN: rootRole},
			`{"id":0,"platform":"AWS","integrationType":"API","credentials":{"accountId":"485365068658","roleName":"sysdig-access3"},"additionalOptions":""}`},
		{"v2 update", V2, "12", ProviderSpec{RoleARN: rootRole},
			`{"id":12,"platform":"AWS","integrationType":"API","credentials":{"accountId":"485365068658","roleName":"sysdig-access3"},"additionalOptions":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeProvider(tt.v, tt.id, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	for _, bad := range []struct {
		v    APIVersion
		id   string
		spec ProviderSpec
		want string
	}{
		{V1, "", ProviderSpec{RoleARN: "sysdig"}, "not an IAM role ARN"},
		{V1, "", ProviderSpec{RoleARN: role, Regions: []string{"mars-1"}}, "not an AWS region"},
		{V2, "a/b", ProviderSpec{RoleARN: rootRole}, "provider id"},
		{V2, "", ProviderSpec{RoleARN: role}, "has the path /path/, and the v2 providers API takes only the role's name"},
		{V2, "12", ProviderSpec{RoleARN: role}, "use the v1 API"},
		{"v9", "", ProviderSpec{RoleARN: role}, "unknown providers API version"},
	} {
		if _, err := EncodeProvider(bad.v, bad.id, bad.spec); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("EncodeProvider(%v, %q, %+v) error = %v, want %q", bad.v, bad.id, bad.spec, err, bad.want)
		}
	}
}

const seedCreateAnswer = `{
  "provider": {
    "id": 7,
    "name": "aws",
    "credentials": {"id": "role_delegation", "role": "arn:aws:iam::485365068658:role/sysdig-access3"},
    "tags": [],
    "status": {"status": "configured", "lastUpdate": null, "percentage": 0, "lastProviderMessages": []},
    "alias": "role_delegation"
  }
}`

func TestDecodeProvider(t *testing.T) {
	tests := []struct {
		name string
		v    APIVersion
		body string
		want Provider
		err  string
	}{
		{"v1 seed example", V1, seedCreateAnswer, Provider{ID: "7", RoleARN: "arn:aws:iam::485365068658:role/sysdig-access3", Alias: "role_delegation", Status: "configured"}, ""},
		{"v1 regions string", V1, `{"provider":{"id":"8","credentials":{"role":"arn:aws:iam::111111111111:role/r"},"additionalOptions":"{\"regions\":[\"US_EAST_1\",\"US_EAST_2\"]}"}}`,
			Provider{ID: "8", RoleARN: "arn:aws:iam::111111111111:role/r", Regions: []string{"US_EAST_1", "US_EAST_2"}}, ""},
		{"v1 regions object", V1, `{"provider":{"id":9,"credentials":{"role":"arn:aws:iam::111111111111:role/r"},"additionalOptions":{"regions":["EU_WEST_1"]}}}`,
			Provider{ID: "9", RoleARN: "arn:aws:iam::111111111111:role/r", Regions: []string{"EU_WEST_1"}}, ""},
		{"v1 regions empty string", V1, `{"provider":{"id":9,"credentials":{"role":"arn:aws:iam::111111111111:role/r"},"additionalOptions":""}}`,
			Provider{ID: "9", RoleARN: "arn:aws:iam::111111111111:role/r"}, ""},
		{"v1 regions garbage", V1, `{"provider":{"id":9,"credentials":{"role":"arn:aws:iam::111111111111:role/r"},"additionalOptions":"not json"}}`,
			Provider{ID: "9", RoleARN: "arn:aws:iam::111111111111:role/r"}, ""},
		{"v2 full arn", V2, `{"provider":{"id":12,"platform":"AWS","integrationType":"API","credentials":{"accountId":"123412341234","roleName":"arn:aws:iam::123412341234:role/p/MyRole"},"additionalOptions":"","alias":"x","status":"configured"}}`,
			Provider{ID: "12", RoleARN: "arn:aws:iam::123412341234:role/p/MyRole", Alias: "x", Status: "configured"}, ""},
		{"v2 bare name", V2, `{"provider":{"id":"13","credentials":{"accountId":"123412341234","roleName":"MyRole"},"status":{"status":"ok"}}}`,
			Provider{ID: "13", RoleARN: "arn:aws:iam::123412341234:role/MyRole", Status: "ok"}, ""},
		{"v2 numeric account", V2, `{"provider":{"id":14,"credentials":{"accountId":123412341234,"roleName":"MyRole"}}}`,
			Provider{ID: "14", RoleARN: "arn:aws:iam::123412341234:role/MyRole"}, ""},
		{"no provider", V1, `{"providers":[]}`, Provider{}, `no "provider" object`},
		{"no id", V1, `{"provider":{"name":"aws"}}`, Provider{}, "has no id"},
		{"null id", V2, `{"provider":{"id":null}}`, Provider{}, "has no id"},
		{"empty id", V2, `{"provider":{"id":""}}`, Provider{}, "not valid"},
		{"slash id", V1, `{"provider":{"id":"../7"}}`, Provider{}, "not valid"},
		{"long id", V1, `{"provider":{"id":"` + strings.Repeat("a", 129) + `"}}`, Provider{}, "not valid"},
		{"float id", V1, `{"provider":{"id":7.5}}`, Provider{}, "whole non-negative"},
		{"negative id", V1, `{"provider":{"id":-7}}`, Provider{}, "whole non-negative"},
		{"object id", V1, `{"provider":{"id":{}}}`, Provider{}, "neither a number nor a string"},
		{"not json", V1, `<html>`, Provider{}, "not the expected JSON"},
		{"bad version", "v3", `{}`, Provider{}, "unknown providers API version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeProvider(tt.v, []byte(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeProviderList(t *testing.T) {
	two := `[{"id":1,"credentials":{"role":"arn:aws:iam::111111111111:role/a"}},{"id":"2","credentials":{"accountId":"222222222222","roleName":"b"}}]`
	tests := []struct {
		name string
		v    APIVersion
		body string
		ids  []string
		err  string
	}{
		{"v1 wrapped", V1, `{"providers":` + two + `}`, []string{"1", "2"}, ""},
		{"v1 empty", V1, `{"providers":[]}`, []string{}, ""},
		{"v1 bare array refused", V1, two, nil, "not the expected JSON"},
		{"v2 bare array", V2, two, []string{"1", "2"}, ""},
		{"v2 wrapped", V2, `{"providers":` + two + `}`, []string{"1", "2"}, ""},
		{"missing key", V1, `{"items":[]}`, nil, `no "providers" array`},
		{"null providers", V2, `{"providers":null}`, nil, `no "providers" array`},
		{"bad item", V1, `{"providers":[{"id":1},{"id":"a b"}]}`, nil, "provider 1 of the v1 list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeProviderList(tt.v, []byte(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			if !reflect.DeepEqual(ids, tt.ids) {
				t.Errorf("ids = %v, want %v", ids, tt.ids)
			}
		})
	}
}

func TestDecodeExternalID(t *testing.T) {
	tests := []struct {
		name, path, body string
		want             ExternalIDInfo
		err              string
	}{
		{"cloud info", CloudInformationPath, `{"externalId":"04acdd59-4c98-4d11-8ee5-424326248161","awsSystemAccountId":"263844535661"}`,
			ExternalIDInfo{ExternalID: "04acdd59-4c98-4d11-8ee5-424326248161", SysdigAWSAccountID: "263844535661", Source: CloudInformationPath}, ""},
		{"cloud info numeric account", CloudInformationPath, `{"externalId":"abc123","awsSystemAccountId":273107874544}`,
			ExternalIDInfo{ExternalID: "abc123", SysdigAWSAccountID: "273107874544", Source: CloudInformationPath}, ""},
		{"cloud info no account", CloudInformationPath, `{"externalId":"abc123"}`,
			ExternalIDInfo{ExternalID: "abc123", Source: CloudInformationPath}, ""},
		{"cloud info bad account", CloudInformationPath, `{"externalId":"abc123","awsSystemAccountId":"12"}`, ExternalIDInfo{}, "12-digit"},
		{"cloud info empty", CloudInformationPath, `{"externalId":""}`, ExternalIDInfo{}, "no external id"},
		{"users me", UsersMePath, `{"user":{"id":1,"username":"a@b.c","customer":{"id":2,"name":"acme","externalId":"04acdd59-4c98-4d11-8ee5-424326248161"}}}`,
			ExternalIDInfo{ExternalID: "04acdd59-4c98-4d11-8ee5-424326248161", Source: UsersMePath}, ""},
		{"users me no customer", UsersMePath, `{"user":{"id":1}}`, ExternalIDInfo{}, "no user.customer"},
		{"users me null external", UsersMePath, `{"user":{"customer":{"externalId":null}}}`, ExternalIDInfo{}, "no external id"},
		{"invalid chars", UsersMePath, `{"user":{"customer":{"externalId":"a b;c"}}}`, ExternalIDInfo{}, "IAM would not accept"},
		{"not json", UsersMePath, `nope`, ExternalIDInfo{}, "not the expected JSON"},
		{"unknown path", "/api/other", `{}`, ExternalIDInfo{}, "no external id decoder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeExternalID(tt.path, []byte(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"3", 3 * time.Second},
		{" 10 ", 10 * time.Second},
		{"-1", 0},
		{"999999999", 24 * time.Hour},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func BenchmarkDecodeProviderV1(b *testing.B) {
	body := []byte(seedCreateAnswer)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeProvider(V1, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeProviderList(b *testing.B) {
	items := make([]map[string]any, 200)
	for i := range items {
		items[i] = map[string]any{"id": i + 1, "credentials": map[string]any{"accountId": "123412341234", "roleName": "arn:aws:iam::123412341234:role/r"}, "additionalOptions": `{"regions":["US_EAST_1"]}`, "status": "configured"}
	}
	body, _ := json.Marshal(map[string]any{"providers": items})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeProviderList(V2, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseErrorBody(b *testing.B) {
	body := []byte(`{"errors":[{"reason":"Bad Request","message":"name missing"},{"reason":"Bad Request","message":"role missing"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		ParseErrorBody(body)
	}
}

func TestSameRole(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/other-role"
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{role, role, true},
		{"arn:aws:iam::123456789012:role/path/Other-Role", role, true},
		{"arn:aws:iam::123456789012:role/sysdig-role", role, false},
		{"arn:aws:iam::210987654321:role/other-role", role, false},
		{"", "", false},
		{"other-role", role, false},
	} {
		if got := SameRole(c.a, c.b); got != c.same {
			t.Errorf("SameRole(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

// boundedJSON lets through at most limit bytes between resets, and squeezed whitespace
// does not count: a long blank run costs one byte.
func TestBoundedJSONLimit(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		wantLen int
	}{
		{name: "under the limit", in: strings.Repeat("x", 1000), wantLen: 1000},
		{name: "over the limit", in: strings.Repeat("x", 1025), wantErr: true},
		{name: "blank run squeezed", in: "[" + strings.Repeat(" \r\n\t", 1<<20) + "]", wantLen: 3},
		{name: "blanks in a string kept", in: `"` + strings.Repeat(" ", 2000) + `"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := io.ReadAll(&boundedJSON{r: strings.NewReader(tt.in), limit: 1024})
			if tt.wantErr {
				if !errors.Is(err, errValueTooLarge) {
					t.Fatalf("err = %v, want errValueTooLarge", err)
				}
				return
			}
			if err != nil || len(out) != tt.wantLen {
				t.Fatalf("read %d bytes, %v; want %d", len(out), err, tt.wantLen)
			}
		})
	}
}
