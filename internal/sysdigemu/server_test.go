package sysdigemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/testutil"
)

const (
	tok  = "test-token"
	role = "arn:aws:iam::123456789012:role/sysdig"
)

func start(t *testing.T, opts ...sysdigemu.Option) (*sysdigemu.Server, string) {
	t.Helper()
	s := sysdigemu.New(append([]sysdigemu.Option{sysdigemu.WithToken(tok)}, opts...)...)
	url, stop := s.Start()
	t.Cleanup(stop)
	return s, url
}

type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a raw request; token "" sends no Authorization header.
func do(t *testing.T, method, url, token, body string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, b := testutil.Do(t, req)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func TestErrorShapes(t *testing.T) {
	tests := []struct {
		shape sysdigemu.ErrorShape
		keys  []string
	}{
		{sysdigemu.ShapeErrorsArray, []string{"errors"}},
		{sysdigemu.ShapeMessage, []string{"message"}},
		{sysdigemu.ShapeError, []string{"error"}},
		{sysdigemu.ShapeTypeMessage, []string{"details", "message", "type"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.shape), func(t *testing.T) {
			_, url := start(t, sysdigemu.WithErrorShape(tt.shape))
			for _, c := range []struct {
				method, path, token string
				status              int
				want                string
			}{
				{"GET", "/api/users/me", "", 401, "Bad credentials"},
				{"GET", "/api/providers", "nope", 401, "Bad credentials"},
				{"GET", "/api/providers/99", tok, 404, "provider 99 not found"},
				{"DELETE", "/api/v2/providers/99", tok, 404, "provider 99 not found"},
				{"GET", "/api/unknown", tok, 404, "no handler"},
				{"PATCH", "/api/providers", tok, 405, "method not allowed"},
			} {
				a := do(t, c.method, url+c.path, c.token, "")
				var obj map[string]json.RawMessage
				if err := json.Unmarshal([]byte(a.body), &obj); err != nil {
					t.Fatalf("%s %s: body %q: %v", c.method, c.path, a.body, err)
				}
				var keys []string
				for k := range obj {
					keys = append(keys, k)
				}
				if a.status != c.status || !sameSet(keys, tt.keys) {
					t.Errorf("%s %s = %d %s", c.method, c.path, a.status, a.body)
				}
				if _, msg := sysdig.ParseErrorBody([]byte(a.body)); !strings.Contains(msg, c.want) {
					t.Errorf("%s %s: message %q, want %q", c.method, c.path, msg, c.want)
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

func TestParseErrorShape(t *testing.T) {
	for in, want := range map[string]sysdigemu.ErrorShape{"errors": sysdigemu.ShapeErrorsArray, "message": sysdigemu.ShapeMessage, "error": sysdigemu.ShapeError, "type": sysdigemu.ShapeTypeMessage} {
		if got, err := sysdigemu.ParseErrorShape(in); err != nil || got != want {
			t.Errorf("%q → %v, %v", in, got, err)
		}
	}
	if _, err := sysdigemu.ParseErrorShape("xml"); err == nil {
		t.Error("xml accepted")
	}
}

func TestReadOnlyToken(t *testing.T) {
	_, url := start(t, sysdigemu.WithReadOnlyToken("ro"))
	tests := []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/api/users/me", "", 200},
		{"GET", "/api/providers", "", 200},
		{"GET", "/api/v2/providers/info/awsCloudInformation", "", 200},
		{"POST", "/api/providers", `{"name":"aws","credentials":{"role":"` + role + `"}}`, 403},
		{"PUT", "/api/v2/providers/1", `{}`, 403},
		{"DELETE", "/api/providers/1", "", 403},
	}
	for _, tt := range tests {
		if a := do(t, tt.method, url+tt.path, "ro", tt.body); a.status != tt.status {
			t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, a.status, a.body, tt.status)
		}
	}
}

func TestBodyValidation(t *testing.T) {
	_, url := start(t)
	v1 := func(s string) string { return s }
	tests := []struct {
		name, path, body, want string
	}{
		{"not json", "/api/providers", `nope`, "not a JSON object"},
		{"missing credentials", "/api/providers", v1(`{"name":"aws"}`), "credentials: must be an object"},
		{"missing role", "/api/providers", `{"name":"aws","credentials":{}}`, "credentials.role: must not be empty"},
		{"bad role", "/api/providers", `{"name":"aws","credentials":{"role":"sysdig"}}`, "must be an IAM role ARN"},
		{"bad name", "/api/providers", `{"name":"gcp","credentials":{"role":"` + role + `"}}`, `name: must be "aws"`},
		{"options object", "/api/providers", `{"name":"aws","credentials":{"role":"` + role + `"},"additionalOptions":{"regions":["US_EAST_1"]}}`, "must be a string holding JSON"},
		{"options not json", "/api/providers", `{"name":"aws","credentials":{"role":"` + role + `"},"additionalOptions":"regions"}`, "must hold JSON"},
		{"aws region form", "/api/providers", `{"name":"aws","credentials":{"role":"` + role + `"},"additionalOptions":"{\"regions\":[\"us-east-1\"]}"}`, "not a region name such as US_EAST_1"},
		{"alias number", "/api/providers", `{"name":"aws","credentials":{"role":"` + role + `"},"alias":3}`, "alias: must be a string"},
		{"v2 platform", "/api/v2/providers", `{"platform":"GCP","integrationType":"API","credentials":{"accountId":"123456789012","roleName":"r"}}`, `platform: must be "AWS"`},
		{"v2 integration", "/api/v2/providers", `{"platform":"AWS","integrationType":"Push","credentials":{"accountId":"123456789012","roleName":"r"}}`, "integrationType"},
		{"v2 account", "/api/v2/providers", `{"platform":"AWS","integrationType":"API","credentials":{"accountId":"12","roleName":"r"}}`, "12-digit"},
		{"v2 missing role", "/api/v2/providers", `{"platform":"AWS","integrationType":"API","credentials":{"accountId":"123456789012"}}`, "credentials.roleName: must not be empty"},
		{"v2 arn as role name", "/api/v2/providers", `{"platform":"AWS","integrationType":"API","credentials":{"accountId":"123456789012","roleName":"` + role + `"}}`, "bare IAM role name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "POST", url+tt.path, tok, tt.body)
			if _, msg := sysdig.ParseErrorBody([]byte(a.body)); a.status != 400 || !strings.Contains(msg, tt.want) {
				t.Errorf("= %d %s, want 400 %q", a.status, a.body, tt.want)
			}
		})
	}
}

func TestProvidersRawHTTP(t *testing.T) {
	s, url := start(t)
	v1 := `{"name":"aws","credentials":{"role":"` + role + `"},"alias":"role_delegation","additionalOptions":"{\"regions\":[\"US_EAST_1\"]}"}`
	a := do(t, "POST", url+"/api/providers", tok, v1)
	if a.status != 200 || !strings.Contains(a.body, `"status":{"lastProviderMessages":[],"lastUpdate":null,"percentage":0,"status":"configured"}`) {
		t.Fatalf("v1 create = %d %s", a.status, a.body)
	}
	p, err := sysdig.DecodeProvider(sysdig.V1, []byte(a.body))
	if err != nil || p.ID != "1" || p.RoleARN != role || p.Alias != "role_delegation" {
		t.Fatalf("decoded %+v, %v", p, err)
	}
	// Same role through v2: one shared store, 409 (ASSUMED).
	v2 := `{"id":0,"platform":"AWS","integrationType":"API","credentials":{"accountId":"123456789012","roleName":"sysdig"},"additionalOptions":""}`
	if a := do(t, "POST", url+"/api/v2/providers", tok, v2); a.status != 409 || !strings.Contains(a.body, "already exists") {
		t.Fatalf("duplicate = %d %s", a.status, a.body)
	}
	a = do(t, "GET", url+"/api/v2/providers/1", tok, "")
	if a.status != 200 || !strings.Contains(a.body, `"roleName":"`+role+`"`) || !strings.Contains(a.body, `"status":"configured"`) {
		t.Fatalf("v2 get = %d %s", a.status, a.body)
	}
	other := strings.Replace(v2, `"roleName":"sysdig"`, `"roleName":"other"`, 1)
	if a := do(t, "POST", url+"/api/v2/providers", tok, other); a.status != 201 {
		t.Fatalf("v2 create = %d %s", a.status, a.body)
	}
	// PUT with a mismatched id, then taking another provider's role.
	if a := do(t, "PUT", url+"/api/v2/providers/2", tok, strings.Replace(other, `"id":0`, `"id":1`, 1)); a.status != 400 {
		t.Errorf("mismatched id = %d %s", a.status, a.body)
	}
	if a := do(t, "PUT", url+"/api/v2/providers/2", tok, v2); a.status != 409 {
		t.Errorf("role clash = %d %s", a.status, a.body)
	}
	if a := do(t, "PUT", url+"/api/providers/1", tok, strings.Replace(v1, `{"name"`, `{"id":1,"name"`, 1)); a.status != 200 {
		t.Errorf("v1 put = %d %s", a.status, a.body)
	}
	list := do(t, "GET", url+"/api/providers", tok, "")
	ps, err := sysdig.DecodeProviderList(sysdig.V1, []byte(list.body))
	if err != nil || len(ps) != 2 || ps[0].ID != "1" || ps[1].ID != "2" {
		t.Fatalf("list = %+v, %v", ps, err)
	}
	if a := do(t, "DELETE", url+"/api/providers/1", tok, ""); a.status != 204 {
		t.Errorf("v1 delete = %d", a.status)
	}
	if a := do(t, "DELETE", url+"/api/v2/providers/2", tok, ""); a.status != 200 {
		t.Errorf("v2 delete = %d", a.status)
	}
	if a := do(t, "GET", url+"/api/providers/1/extra", tok, ""); a.status != 404 {
		t.Errorf("nested path = %d", a.status)
	}
	stored := s.Providers()
	if len(stored) != 0 {
		t.Errorf("left %+v", stored)
	}
	for _, r := range s.Requests() {
		if strings.Contains(fmt.Sprintf("%+v", r), tok) {
			t.Errorf("token recorded: %+v", r)
		}
	}
}

func TestDuplicateAcrossVersionsWithPath(t *testing.T) {
	s, url := start(t)
	s.Seed(sysdig.ProviderSpec{RoleARN: "arn:aws:iam::123456789012:role/team/Sysdig"})
	a := do(t, "POST", url+"/api/v2/providers", tok, `{"id":0,"platform":"AWS","integrationType":"API","credentials":{"accountId":"123456789012","roleName":"sysdig"}}`)
	if a.status != 409 {
		t.Fatalf("= %d %s", a.status, a.body)
	}
}

func TestCountersAndSeed(t *testing.T) {
	s, url := start(t)
	id := s.Seed(sysdig.ProviderSpec{RoleARN: role, Alias: "pre", Regions: []string{"us-east-1", "EU_WEST_1"}})
	do(t, "GET", url+"/api/providers/"+id, tok, "")
	do(t, "GET", url+"/api/v2/providers/"+id, tok, "")
	do(t, "PUT", url+"/api/providers/"+id, tok, `{"name":"aws","credentials":{"role":"`+role+`"}}`)
	got := s.Providers()
	if len(got) != 1 || got[0].CreatedVia != "seed" || got[0].Gets != 2 || got[0].Updates != 1 || got[0].Alias != "" || got[0].Regions != nil {
		t.Fatalf("%+v", got)
	}
}

func TestExternalIDRoutes(t *testing.T) {
	_, url := start(t, sysdigemu.WithExternalID("ext-9"), sysdigemu.WithSysdigAWSAccountID("263844535661"))
	a := do(t, "GET", url+sysdig.CloudInformationPath, tok, "")
	info, err := sysdig.DecodeExternalID(sysdig.CloudInformationPath, []byte(a.body))
	if err != nil || info.ExternalID != "ext-9" || info.SysdigAWSAccountID != "263844535661" {
		t.Fatalf("%+v %v", info, err)
	}
	a = do(t, "GET", url+sysdig.UsersMePath, tok, "")
	if info, err := sysdig.DecodeExternalID(sysdig.UsersMePath, []byte(a.body)); err != nil || info.ExternalID != "ext-9" {
		t.Fatalf("%+v %v", info, err)
	}
	_, old := start(t, sysdigemu.WithoutCloudInformation())
	if a := do(t, "GET", old+sysdig.CloudInformationPath, tok, ""); a.status != 404 {
		t.Fatalf("older tenant = %d", a.status)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    sysdigemu.Fault
		statuses []int // answers of four GET /api/providers in a row
		check    func(t *testing.T, first answer)
	}{
		{"statuses in order", sysdigemu.Fault{Statuses: []int{500, 502, 429}}, []int{500, 502, 429, 200}, nil},
		{"method filter", sysdigemu.Fault{Method: "POST", Statuses: []int{500}}, []int{200, 200, 200, 200}, nil},
		{"path filter", sysdigemu.Fault{PathPrefix: "/api/v2/", Statuses: []int{500}}, []int{200, 200, 200, 200}, nil},
		{"retry after", sysdigemu.Fault{Statuses: []int{429}, RetryAfter: 1500 * time.Millisecond}, []int{429, 200, 200, 200}, func(t *testing.T, a answer) {
			if a.header.Get("Retry-After") != "2" {
				t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
			}
		}},
		{"body size", sysdigemu.Fault{Statuses: []int{500}, BodySize: 20 << 10}, []int{500, 200, 200, 200}, func(t *testing.T, a answer) {
			if len(a.body) != 20<<10 || !json.Valid([]byte(a.body)) {
				t.Errorf("body %d bytes, valid JSON %v", len(a.body), json.Valid([]byte(a.body)))
			}
		}},
		{"malformed twice", sysdigemu.Fault{Malformed: true, Times: 2}, []int{200, 200, 200, 200}, func(t *testing.T, a answer) {
			if json.Valid([]byte(a.body)) {
				t.Errorf("body is valid JSON: %s", a.body)
			}
		}},
		{"latency then normal", sysdigemu.Fault{Latency: 10 * time.Millisecond}, []int{200, 200, 200, 200}, nil},
		{"latency with status", sysdigemu.Fault{Latency: time.Millisecond, Statuses: []int{503}}, []int{503, 200, 200, 200}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, url := start(t)
			s.Inject(tt.fault)
			var got []int
			var first answer
			for i := range 4 {
				a := do(t, "GET", url+"/api/providers", tok, "")
				if i == 0 {
					first = a
				}
				got = append(got, a.status)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.statuses) {
				t.Errorf("statuses %v, want %v", got, tt.statuses)
			}
			if tt.check != nil {
				tt.check(t, first)
			}
			if recs := s.Requests(); len(recs) != 4 || (tt.fault.Method == "" && tt.fault.PathPrefix == "" && recs[0].Fault == "") {
				t.Errorf("records %+v", recs)
			}
		})
	}
}

func TestInvalidFaultIgnored(t *testing.T) {
	s, url := start(t)
	s.Inject(sysdigemu.Fault{Statuses: []int{42}})
	if a := do(t, "GET", url+"/api/providers", tok, ""); a.status != 200 {
		t.Errorf("= %d", a.status)
	}
}

func TestHangAndReset(t *testing.T) {
	s, url := start(t)
	s.Inject(sysdigemu.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/providers", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang: err = %v", err)
	}
	s.Inject(sysdigemu.Fault{ResetConn: true})
	req, _ = http.NewRequest("GET", url+"/api/providers", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("reset: got %d", resp.StatusCode)
	}
	if a := do(t, "GET", url+"/api/providers", tok, ""); a.status != 200 {
		t.Fatalf("after faults = %d", a.status)
	}
}

func TestStopReleasesHang(t *testing.T) {
	s := sysdigemu.New()
	url, stop := s.Start()
	s.Inject(sysdigemu.Fault{Hang: true})
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(url + "/api/providers")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	// Wait (bounded) until the request is held by the fault.
	for i := 0; s.InFlight() == 0; i++ {
		if i > 30000 {
			t.Fatal("the request never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	stop() // must return although a request hangs
	if err := <-errc; err == nil {
		t.Error("the hanging request got an answer; want the connection dropped")
	}
	if recs := s.Requests(); len(recs) != 1 || recs[0].Status != 0 || recs[0].Fault != "hang" {
		t.Errorf("records %+v", recs)
	}
}

func TestRateLimit(t *testing.T) {
	s, url := start(t, sysdigemu.WithRateLimit(0.001, 2))
	var got []int
	for range 3 {
		got = append(got, do(t, "GET", url+"/api/providers", tok, "").status)
	}
	if fmt.Sprint(got) != "[200 200 429]" {
		t.Fatalf("statuses %v", got)
	}
	recs := s.Requests()
	if recs[2].Fault != "rate-limit" {
		t.Errorf("records %+v", recs)
	}
	a := do(t, "GET", url+"/api/users/me", tok, "")
	if ra := a.header.Get("Retry-After"); a.status != 429 || ra == "" || ra == "0" {
		t.Errorf("= %d Retry-After %q", a.status, ra)
	}
	// Admin routes are not limited.
	if a := do(t, "GET", url+"/_emulator/providers", "", ""); a.status != 200 {
		t.Errorf("admin = %d", a.status)
	}
	s.Reset()
	if a := do(t, "GET", url+"/api/providers", tok, ""); a.status != 200 {
		t.Errorf("after reset = %d", a.status)
	}
}

func TestAdminAPI(t *testing.T) {
	s, url := start(t)
	a := do(t, "POST", url+"/_emulator/seed", "", `{"RoleARN":"`+role+`","Alias":"pre","Regions":["us-east-1"]}`)
	var seeded struct{ ID string }
	if err := json.Unmarshal([]byte(a.body), &seeded); a.status != 201 || err != nil || seeded.ID != "1" {
		t.Fatalf("seed = %d %s", a.status, a.body)
	}
	for _, bad := range []string{`{"RoleARN":"x"}`, `{"Role":"` + role + `"}`, `nope`} {
		if a := do(t, "POST", url+"/_emulator/seed", "", bad); a.status != 400 || !strings.Contains(a.body, "expected") && !strings.Contains(a.body, "must be") {
			t.Errorf("seed %s = %d %s", bad, a.status, a.body)
		}
	}
	if a := do(t, "POST", url+"/_emulator/faults", "", `{"Method":"GET","PathPrefix":"/api/providers","Statuses":[503],"RetryAfter":"1s","Latency":1000}`); a.status != 204 {
		t.Fatalf("fault = %d %s", a.status, a.body)
	}
	for _, bad := range []string{`{"Statuses":[99]}`, `{"Latency":"soon"}`, `{"Bogus":1}`, `{"PathPrefix":"api"}`, `{"Latency":"1h"}`} {
		if a := do(t, "POST", url+"/_emulator/faults", "", bad); a.status != 400 {
			t.Errorf("fault %s = %d %s", bad, a.status, a.body)
		}
	}
	a = do(t, "GET", url+"/api/providers/1", tok, "")
	if a.status != 503 || a.header.Get("Retry-After") != "1" {
		t.Errorf("faulted = %d %v", a.status, a.header)
	}
	var ps []sysdigemu.StoredProvider
	a = do(t, "GET", url+"/_emulator/providers", "", "")
	if err := json.Unmarshal([]byte(a.body), &ps); err != nil || len(ps) != 1 || ps[0].RoleARN != role || ps[0].Regions[0] != "US_EAST_1" {
		t.Fatalf("providers = %s", a.body)
	}
	var recs []sysdigemu.RequestRecord
	a = do(t, "GET", url+"/_emulator/requests", "", "")
	if err := json.Unmarshal([]byte(a.body), &recs); err != nil || len(recs) != 1 || recs[0].Status != 503 || recs[0].Path != "/api/providers/1" {
		t.Fatalf("requests = %s", a.body)
	}
	if a := do(t, "GET", url+"/_emulator/nothing", "", ""); a.status != 404 {
		t.Errorf("unknown admin = %d", a.status)
	}
	if a := do(t, "POST", url+"/_emulator/reset", "", ""); a.status != 204 || len(s.Providers()) != 0 || len(s.Requests()) != 0 {
		t.Errorf("reset = %d", a.status)
	}
}

func TestStartOnRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "nonsense"} {
		if _, _, err := sysdigemu.New().StartOn(addr); err == nil {
			t.Errorf("StartOn(%q) accepted", addr)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s, url := start(t, sysdigemu.WithRateLimit(1e9, 1000))
	s.Inject(sysdigemu.Fault{Statuses: []int{500, 500, 500}})
	c, err := sysdig.New(url, tok, sysdig.WithRetry(time.Millisecond, time.Millisecond, 10))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Go(func() {
			v := []sysdig.APIVersion{sysdig.V1, sysdig.V2}[i%2]
			arn := fmt.Sprintf("arn:aws:iam::123456789012:role/r%d", i)
			p, err := c.CreateProvider(ctx, v, sysdig.ProviderSpec{RoleARN: arn})
			if err == nil {
				_, err = c.UpdateProvider(ctx, v, p.ID, sysdig.ProviderSpec{RoleARN: arn, Alias: "x"})
			}
			if err == nil && i%4 == 0 {
				err = c.DeleteProvider(ctx, v, p.ID)
			}
			errs <- err
		})
		wg.Go(func() {
			_ = s.Providers()
			_ = s.Requests()
			if i%8 == 0 {
				s.Seed(sysdig.ProviderSpec{RoleARN: fmt.Sprintf("arn:aws:iam::210987654321:role/s%d", i)})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(s.Providers()); n != 24+4 {
		t.Errorf("%d providers", n)
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(s.Requests())
	if strings.Contains(buf.String(), tok) {
		t.Error("token recorded")
	}
}

// Sysdig's way of stating its limit: X-RateLimit-Limit on every answer, 429 with an
// integer Retry-After and the public API's body beyond it.
func TestRateLimitPerMinute(t *testing.T) {
	s, url := start(t, sysdigemu.WithRateLimitPerMinute(60, 2), sysdigemu.WithErrorShape(sysdigemu.ShapeErrorsArray))
	var statuses []int
	var last answer
	for range 3 {
		last = do(t, "GET", url+"/api/providers", tok, "")
		statuses = append(statuses, last.status)
		if last.header.Get("X-RateLimit-Limit") != "60" {
			t.Fatalf("X-RateLimit-Limit %q", last.header.Get("X-RateLimit-Limit"))
		}
	}
	if fmt.Sprint(statuses) != "[200 200 429]" {
		t.Fatalf("statuses %v", statuses)
	}
	if last.header.Get("Retry-After") != "1" || !strings.Contains(last.body, `"type":"too_many_requests"`) || !strings.Contains(last.body, `"details":[]`) {
		t.Fatalf("429: Retry-After %q body %s", last.header.Get("Retry-After"), last.body)
	}
	if st := s.Stats(); st.Requests != 3 || st.Throttled != 1 || st.Bytes < int64(len(last.body)) || st.Bytes != s.BytesSent() {
		t.Fatalf("Stats %+v", st)
	}
	s.Reset()
	if s.BytesSent() != 0 {
		t.Fatal("Reset keeps the byte count")
	}
}

func TestWithoutV2ProviderList(t *testing.T) {
	_, url := start(t, sysdigemu.WithoutV2ProviderList())
	if a := do(t, "GET", url+"/api/v2/providers", tok, ""); a.status != http.StatusNotFound {
		t.Fatalf("v2 list answered %d", a.status)
	}
	if a := do(t, "GET", url+"/api/providers", tok, ""); a.status != http.StatusOK {
		t.Fatalf("v1 list answered %d", a.status)
	}
	if a := do(t, "POST", url+"/api/v2/providers", tok, `{"id":0,"platform":"AWS","integrationType":"API","credentials":{"accountId":"123456789012","roleName":"r"},"additionalOptions":""}`); a.status != http.StatusCreated {
		t.Fatalf("v2 create answered %d %s", a.status, a.body)
	}
}

func TestWithoutStatusInWriteAnswers(t *testing.T) {
	_, url := start(t, sysdigemu.WithoutStatusInWriteAnswers())
	a := do(t, "POST", url+"/api/providers", tok, `{"name":"aws","credentials":{"role":"`+role+`"}}`)
	if a.status != http.StatusOK || strings.Contains(a.body, `"status"`) {
		t.Fatalf("create answered %d %s", a.status, a.body)
	}
	if g := do(t, "GET", url+"/api/providers/1", tok, ""); !strings.Contains(g.body, `"status"`) {
		t.Fatalf("get answered %s", g.body)
	}
}

func TestRotateToken(t *testing.T) {
	s, url := start(t)
	s.RotateToken("new-token-1234")
	if a := do(t, "GET", url+"/api/providers", tok, ""); a.status != http.StatusUnauthorized {
		t.Fatalf("the old token answered %d", a.status)
	}
	if a := do(t, "GET", url+"/api/providers", "new-token-1234", ""); a.status != http.StatusOK {
		t.Fatalf("the new token answered %d", a.status)
	}
}

func TestWithProviderListInCreateAnswers(t *testing.T) {
	s, url := start(t, sysdigemu.WithProviderListInCreateAnswers())
	seeded := s.Seed(sysdig.ProviderSpec{RoleARN: "arn:aws:iam::123456789012:role/seeded"})
	a := do(t, "POST", url+"/api/providers", tok, `{"name":"aws","credentials":{"role":"`+role+`"}}`)
	if a.status != http.StatusOK {
		t.Fatalf("create answered %d %s", a.status, a.body)
	}
	list, err := sysdig.DecodeProviderList(sysdig.V1, []byte(a.body))
	if err != nil || len(list) != 2 || list[0].ID != seeded || list[1].RoleARN != role || list[1].Status != "configured" {
		t.Fatalf("v1 create answer %s: %+v, %v", a.body, list, err)
	}
	// v2 keeps its single-provider answer: the guide speaks of v1 only.
	a = do(t, "POST", url+"/api/v2/providers", tok, `{"id":0,"platform":"AWS","integrationType":"API","credentials":{"accountId":"123456789012","roleName":"other"},"additionalOptions":""}`)
	if _, err := sysdig.DecodeProvider(sysdig.V2, []byte(a.body)); a.status != http.StatusCreated || err != nil {
		t.Fatalf("v2 create answered %d %s: %v", a.status, a.body, err)
	}
}
