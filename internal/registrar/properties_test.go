package registrar

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/sysdig"
)

func validProps() map[string]any {
	return map[string]any{
		"ServiceToken":       "arn:aws:lambda:us-east-1:123456789012:function:f",
		"ServiceTimeout":     "360",
		PropSysdigAPIURL:     "https://app.sysdigcloud.com/",
		PropAPITokenSecretID: "sysdig/api-token",
		PropRoleARN:          "arn:aws:iam::123456789012:role/sysdig-role",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestParseProviderPropertiesDefaults(t *testing.T) {
	p, err := ParseProviderProperties(validProps())
	if err != nil {
		t.Fatal(err)
	}
	if p.BaseURL != "https://app.sysdigcloud.com" || p.Alias != DefaultAlias || p.OnExisting != OnExistingFail ||
		!p.DeregisterOnDelete || p.API != sysdig.V1 || p.SkipTLSVerify || len(p.Regions) != 0 {
		t.Fatalf("defaults: %+v", p)
	}
	if p.Role.AccountID != "123456789012" || p.Role.Name != "sysdig-role" || p.Role.Path != "/" {
		t.Fatalf("role: %+v", p.Role)
	}
}

func TestParseProviderProperties(t *testing.T) {
	cases := []struct {
		name     string
		props    map[string]any
		property string // property the error must name; empty means valid
		check    func(ProviderProperties) bool
	}{
		{name: "regions list mixed forms", props: with(validProps(), PropRegions, []any{"us-east-1", "US_EAST_2", "us-east-1"}),
			check: func(p ProviderProperties) bool { return slices.Equal(p.Regions, []string{"US_EAST_1", "US_EAST_2"}) }},
		{name: "regions comma string", props: with(validProps(), PropRegions, " eu-west-1 , ap-southeast-2,"),
			check: func(p ProviderProperties) bool {
				return slices.Equal(p.Regions, []string{"AP_SOUTHEAST_2", "EU_WEST_1"})
			}},
		{name: "empty regions means all", props: with(validProps(), PropRegions, ""),
			check: func(p ProviderProperties) bool { return len(p.Regions) == 0 }},
		{name: "bad region", props: with(validProps(), PropRegions, "us-east-1,mars-1"), property: PropRegions},
		{name: "region list of numbers", props: with(validProps(), PropRegions, []any{1.0}), property: PropRegions},
		{name: "adopt any case", props: with(validProps(), PropOnExisting, "adopt"),
			check: func(p ProviderProperties) bool { return p.OnExisting == OnExistingAdopt }},
		{name: "bad on existing", props: with(validProps(), PropOnExisting, "Replace"), property: PropOnExisting},
		{name: "deregister false", props: with(validProps(), PropDeregisterOnDelete, "False"),
			check: func(p ProviderProperties) bool { return !p.DeregisterOnDelete }},
		{name: "deregister bool", props: with(validProps(), PropDeregisterOnDelete, false),
			check: func(p ProviderProperties) bool { return !p.DeregisterOnDelete }},
		{name: "bad boolean", props: with(validProps(), PropDeregisterOnDelete, "yes"), property: PropDeregisterOnDelete},
		{name: "api v2", props: with(validProps(), PropProviderAPI, "V2"),
			check: func(p ProviderProperties) bool { return p.API == sysdig.V2 }},
		{name: "bad api", props: with(validProps(), PropProviderAPI, "v3"), property: PropProviderAPI},
		{name: "skip tls", props: with(validProps(), PropSkipTLSVerify, "true"),
			check: func(p ProviderProperties) bool { return p.SkipTLSVerify }},
		{name: "role with path", props: with(validProps(), PropRoleARN, "arn:aws:iam::123456789012:role/team/sysdig/sysdig-role"),
			check: func(p ProviderProperties) bool { return p.Role.Path == "/team/sysdig/" && p.Role.Name == "sysdig-role" }},
		{name: "gov partition", props: with(validProps(), PropRoleARN, "arn:aws-us-gov:iam::123456789012:role/r"),
			check: func(p ProviderProperties) bool { return p.Role.Partition == "aws-us-gov" }},
		{name: "missing role", props: with(validProps(), PropRoleARN, nil), property: PropRoleARN},
		{name: "user not role", props: with(validProps(), PropRoleARN, "arn:aws:iam::123456789012:user/bob"), property: PropRoleARN},
		{name: "short account", props: with(validProps(), PropRoleARN, "arn:aws:iam::12345:role/r"), property: PropRoleARN},
		{name: "another ARN in the path", props: with(validProps(), PropRoleARN, "arn:aws:iam::123456789012:role/arn:aws:iam::999999999999:role/x"), property: PropRoleARN},
		{name: "role without a slash", props: with(validProps(), PropRoleARN, "arn:aws:iam::123456789012:rolex"), property: PropRoleARN},
		{name: "path of other characters", props: with(validProps(), PropRoleARN, "arn:aws:iam::123456789012:role/a*b/x"), property: PropRoleARN},
		{name: "v2 with a role path", props: with(with(validProps(), PropProviderAPI, "v2"), PropRoleARN, "arn:aws:iam::123456789012:role/team/x"), property: PropProviderAPI},
		{name: "v1 with a role path", props: with(with(validProps(), PropProviderAPI, "v1"), PropRoleARN, "arn:aws:iam::123456789012:role/team/x"),
			check: func(p ProviderProperties) bool { return p.Role.Path == "/team/" }},
		{name: "http remote url", props: with(validProps(), PropSysdigAPIURL, "http://app.sysdigcloud.com"), property: PropSysdigAPIURL},
		{name: "comma in url", props: with(validProps(), PropSysdigAPIURL, "https://sysdig.example.com/a,b"), property: PropSysdigAPIURL},
		{name: "http loopback url", props: with(validProps(), PropSysdigAPIURL, "http://127.0.0.1:8080"),
			check: func(p ProviderProperties) bool { return p.BaseURL == "http://127.0.0.1:8080" }},
		{name: "on-prem path", props: with(validProps(), PropSysdigAPIURL, "https://sysdig.corp.example/monitor/"),
			check: func(p ProviderProperties) bool { return p.BaseURL == "https://sysdig.corp.example/monitor" }},
		{name: "missing url", props: with(validProps(), PropSysdigAPIURL, nil), property: PropSysdigAPIURL},
		{name: "missing secret", props: with(validProps(), PropAPITokenSecretID, "  "), property: PropAPITokenSecretID},
		{name: "alias", props: with(validProps(), PropAlias, "prod account (eu)"),
			check: func(p ProviderProperties) bool { return p.Alias == "prod account (eu)" }},
		{name: "bad alias", props: with(validProps(), PropAlias, "a\"b"), property: PropAlias},
		{name: "typo property", props: with(validProps(), "Regoins", "us-east-1"), property: "Regoins"},
		{name: "object value", props: with(validProps(), PropAlias, map[string]any{"a": 1}), property: PropAlias},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProviderProperties(tc.props)
			if tc.property == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !tc.check(p) {
					t.Fatalf("parsed %+v", p)
				}
				return
			}
			var pe *PropertyError
			if !errors.As(err, &pe) || pe.Property != tc.property {
				t.Fatalf("error %v; want one naming %s", err, tc.property)
			}
			if !strings.Contains(err.Error(), tc.property) {
				t.Fatalf("error text %q does not name %s", err, tc.property)
			}
		})
	}
}

func TestParseExternalIDProperties(t *testing.T) {
	p, err := ParseExternalIDProperties(map[string]any{PropSysdigAPIURL: "https://eu1.app.sysdig.com", PropAPITokenSecretID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sysdig-AbCdEf", "ServiceToken": "x"})
	if err != nil || p.BaseURL != "https://eu1.app.sysdig.com" {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := ParseExternalIDProperties(map[string]any{PropSysdigAPIURL: "https://eu1.app.sysdig.com", PropAPITokenSecretID: "s", PropRoleARN: "x"}); err == nil {
		t.Fatal("RoleArn accepted on Custom::SysdigExternalId")
	}
}

func TestProviderRefRoundTrip(t *testing.T) {
	ref := ProviderRef{API: sysdig.V2, BaseURL: "http://127.0.0.1:4321", ID: "42", RoleARN: "arn:aws:iam::123456789012:role/a/b/sysdig-role"}
	got, err := ParseProviderRef(ref.String())
	if err != nil || got != ref {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, s := range []string{NoneID("req-1"), "some-other-id", "", "11111111-2222-3333-4444-555555555555"} {
		if _, err := ParseProviderRef(s); !errors.Is(err, ErrNotAProvider) {
			t.Errorf("%q: %v, want ErrNotAProvider", s, err)
		}
	}
	for _, s := range []string{
		"sysdig-provider|v1|https://h|7",
		"sysdig-provider|v9|https://h|7|arn:aws:iam::123456789012:role/r",
		"sysdig-provider|v1|ftp://h|7|arn:aws:iam::123456789012:role/r",
		"sysdig-provider|v1|https://h|7 7|arn:aws:iam::123456789012:role/r",
		"sysdig-provider|v1|https://h|7|arn:aws:iam::123456789012:user/r",
	} {
		if _, err := ParseProviderRef(s); err == nil || errors.Is(err, ErrNotAProvider) {
			t.Errorf("%q: %v, want a malformed-id error", s, err)
		}
	}
	// The longest valid values: a URL at the cap, a 128-byte id, the longest partition,
	// a 512-byte path, a 64-byte name, and the adopted marker.
	long := ProviderRef{API: sysdig.V1, BaseURL: "https://" + strings.Repeat("h", maxBaseURLBytes-len("https://")), ID: strings.Repeat("9", 128),
		RoleARN: "arn:aws-us-gov:iam::123456789012:role/" + strings.Repeat("p/", 255) + strings.Repeat("n", 64), Adopted: true}
	if _, err := ParseRoleARN(long.RoleARN); err != nil {
		t.Fatal(err)
	}
	if len(long.String()) > 1024 {
		t.Fatalf("the longest valid id is %d bytes, over CloudFormation's 1024", len(long.String()))
	}
	if back, err := ParseProviderRef(long.String()); err != nil || back != long {
		t.Fatalf("the longest id does not round-trip: %v", err)
	}
}

func TestParseStackARN(t *testing.T) {
	s, err := ParseStackARN("arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/StackSet-x-1/guid")
	if err != nil || s.AccountID != "123456789012" || s.Partition != "aws-cn" || s.Region != "cn-north-1" {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := ParseStackARN("stack-name"); err == nil {
		t.Fatal("accepted a bare stack name")
	}
}

func FuzzParseProviderProperties(f *testing.F) {
	f.Add("https://app.sysdigcloud.com", "s", "arn:aws:iam::123456789012:role/r", "us-east-1,US_WEST_2", "Adopt", "false", "v2", "a")
	f.Add("http://127.0.0.1:1", "", "arn:aws:iam::1:role/r", "mars", "x", "maybe", "v3", "\"")
	f.Fuzz(func(t *testing.T, url, secret, role, regions, onExisting, deregister, api, alias string) {
		props := map[string]any{PropSysdigAPIURL: url, PropAPITokenSecretID: secret, PropRoleARN: role, PropRegions: regions,
			PropOnExisting: onExisting, PropDeregisterOnDelete: deregister, PropProviderAPI: api, PropAlias: alias}
		p, err := ParseProviderProperties(props)
		if err != nil {
			var pe *PropertyError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v does not name a property", err, err)
			}
			return
		}
		ref := ProviderRef{API: p.API, BaseURL: p.BaseURL, ID: "1", RoleARN: p.RoleARN}
		back, err := ParseProviderRef(ref.String())
		if err != nil || back != ref {
			t.Fatalf("valid properties give an unparseable physical id %q: %v", ref.String(), err)
		}
		if len(ref.String()) > 1024 {
			t.Fatalf("physical id of %d bytes", len(ref.String()))
		}
	})
}

func FuzzParseProviderRef(f *testing.F) {
	f.Add("sysdig-provider|v1|https://app.sysdigcloud.com|7|arn:aws:iam::123456789012:role/sysdig-role")
	f.Add(NoneID("abc"))
	f.Add("sysdig-provider|v2|http://127.0.0.1:9|x|arn:aws:iam::123456789012:role/p/q")
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseProviderRef(s)
		if err != nil {
			return
		}
		again, err := ParseProviderRef(ref.String())
		if err != nil || again != ref {
			t.Fatalf("%q parsed to %+v, which does not round-trip: %v", s, ref, err)
		}
	})
}
