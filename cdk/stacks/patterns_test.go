package stacks

import (
	"regexp"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/tokensource"
)

// TestPatternsRefuseWhatTheFunctionRefuses holds the templates' parameter patterns to
// the function's own validation: a value the console accepts must not fail later in the
// function for a reason the pattern could have checked. Each case states what the
// function does; the pattern must accept it exactly when the function does (a pattern may
// be stricter only where the case says so).
func TestPatternsRefuseWhatTheFunctionRefuses(t *testing.T) {
	long := "https://sysdig.example.com/" + strings.Repeat("a", maxAPIURLLength)
	urlCases := []string{
		"https://sysdig.example.com", "https://sysdig.example.com/", "https://sysdig.example.com/monitor",
		"https://10.0.0.1:8443/", "https://sysdig.example.com:65535", "https://sysdig.example.com:1",
		"http://127.0.0.1:8080", "http://localhost:9000/api", // loopback: local runs only
		"http://sysdig.example.com", "http://10.0.0.1:8080", // plain http elsewhere: refused
		"https://sysdig.example.com:0", "https://sysdig.example.com:65536", "https://sysdig.example.com:99999",
		"https://sysdig.example.com/?x=1", "https://sysdig.example.com/a#b", "https://sysdig.example.com/a,b",
		"https://sysdig.example.com/a|b", "ftp://sysdig.example.com", "https://", "sysdig.example.com", long,
	}
	re := regexp.MustCompile(apiURLPattern)
	for _, v := range urlCases {
		if re.MatchString(v) && len(v) <= maxAPIURLLength && !functionAcceptsURL(v) {
			t.Errorf("SysdigCustomUrl/SysdigApiUrl: the template accepts %q, the function refuses it", v)
		}
		// ',' and '|' the function percent-encodes; the template refuses them outright.
		stricter := v == long || strings.ContainsAny(v, ",|")
		if !re.MatchString(v) && functionAcceptsURL(v) && !stricter {
			t.Errorf("SysdigCustomUrl/SysdigApiUrl: the template refuses %q, which the function accepts", v)
		}
	}

	re = regexp.MustCompile(regionsPattern)
	many := strings.TrimSuffix(strings.Repeat("us-east-1,", 65), ",")
	for _, v := range []string{"", "us-east-1", "us-east-1, eu-west-1,ap-southeast-2", "us-gov-west-1", "US_EAST_1,US_EAST_2",
		"cn-northwest-1", "il-central-1", "us-isob-east-1", "eu-isoe-west-1", "us-east-1,",
		"us_east_1", "Us-East-1", "US-EAST-1", "us-foo-1", "us-east-0", "us-east-100", "useast1", many} {
		if re.MatchString(v) != functionAcceptsRegions(v) && v != many {
			t.Errorf("DiscoveryRegions %q: template %v, function %v", v, re.MatchString(v), functionAcceptsRegions(v))
		}
	}
	if re.MatchString(many) {
		t.Errorf("DiscoveryRegions: the template accepts 65 regions; the function takes at most 64 distinct ones")
	}

	re = regexp.MustCompile(apiTokenPattern)
	for _, v := range []string{"", "e71d7c0f-501e-47d4-a159-39da8b716f44", " e71d7c0f ", `{"token":"abc"}`,
		"two words", "tab\there", "é-token", "line\nbreak", "{not json"} {
		_, err := tokensource.ParseSecret(v)
		if v != "" && re.MatchString(v) != (err == nil) {
			t.Errorf("ApiToken %q: template %v, function %v (%v)", v, re.MatchString(v), err == nil, err)
		}
	}
	if !re.MatchString("") {
		t.Error("ApiToken: the template must accept empty (the token comes from ApiTokenSecret then)")
	}
}

func functionAcceptsURL(v string) bool {
	_, err := registrar.ParseExternalIDProperties(map[string]any{
		registrar.PropSysdigAPIURL: v, registrar.PropAPITokenSecretID: "sysdig/api-token"})
	return err == nil
}

func functionAcceptsRegions(v string) bool {
	seen := map[string]bool{}
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, err := sysdig.SysdigRegionName(item)
		if err != nil {
			return false
		}
		seen[name] = true
	}
	return len(seen) <= 64
}
