package registrar

import (
	"errors"
	"strings"
	"testing"
)

// Any property values: either a PropertyError naming the property, or a choice that is a
// 12-digit account (or, on-prem, whatever was reported) or an AccountError naming
// SysdigAwsAccountId. Never a guessed account.
func FuzzChooseSysdigAccount(f *testing.F) {
	f.Add("https://app.sysdigcloud.com", "us1", "", "None", "")
	f.Add("https://eu1.app.sysdig.com", "eu1", "111122223333", "None", "210987654321")
	f.Add("https://sysdig.example.com", "custom", "", "CreateUser", "")
	f.Add("https://x", "EU1", "12", "existingprincipal", "273107874544")
	f.Fuzz(func(t *testing.T, url, region, given, mode, reported string) {
		p, err := ParseExternalIDProperties(map[string]any{PropSysdigAPIURL: url, PropAPITokenSecretID: "s",
			PropSysdigRegion: region, PropSysdigAwsAccountID: given, PropOnPremCredentials: mode})
		if err != nil {
			var pe *PropertyError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v does not name a property", err, err)
			}
			return
		}
		if !accountIDPattern.MatchString(reported) {
			reported = "" // the Sysdig decoder only ever reports 12 digits or nothing
		}
		account, source, err := ChooseSysdigAccount(reported, p)
		if err != nil {
			var ae *AccountError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), "SysdigAwsAccountId") || p.OnPrem != OnPremNone {
				t.Fatalf("error %v for %+v", err, p)
			}
			return
		}
		switch {
		case p.OnPrem != OnPremNone:
			if account != reported {
				t.Fatalf("on-prem answered %q, reported %q", account, reported)
			}
		case account == US1SysdigAWSAccountID && source != "reported by Sysdig" && p.GivenAccount != account:
			if p.Region != US1Region || reported != "" {
				t.Fatalf("us1's account used for region %q (reported %q)", p.Region, reported)
			}
		case account != reported && account != p.GivenAccount:
			t.Fatalf("account %q is neither reported %q nor given %q", account, reported, p.GivenAccount)
		}
		if p.OnPrem == OnPremNone && !accountIDPattern.MatchString(account) {
			t.Fatalf("SaaS trust of %q", account)
		}
	})
}
