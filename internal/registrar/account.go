package registrar

import (
	"fmt"
	"regexp"
	"strings"
)

// Properties of Custom::SysdigExternalId that choose the AWS account the role trusts
// (a public interface: the templates send them).
const (
	PropSysdigRegion       = "SysdigRegion"
	PropSysdigAwsAccountID = "SysdigAwsAccountId"
	PropOnPremCredentials  = "OnPremCredentials"
)

// On-prem credential modes (the OnPremCredentials parameter).
const (
	OnPremNone              = "None"
	OnPremCreateUser        = "CreateUser"
	OnPremExistingPrincipal = "ExistingPrincipal"
)

// US1SysdigAWSAccountID is Sysdig's AWS account for SaaS us1, the only one the seed
// document names; it is used only for us1 and only when the tenant does not report one.
const US1SysdigAWSAccountID = "273107874544"

// US1Region is the Sysdig SaaS region whose account is known without asking.
const US1Region = "us1"

// AccountIDsHelp says where a user finds Sysdig's AWS account for a region.
const AccountIDsHelp = "Sysdig's documentation lists it per SaaS region (\"AWS account IDs\", linked from the AWS role delegation guide); Sysdig support can also tell you"

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// AccountError is a trusted-account choice that must stop the stack before the role exists.
type AccountError struct{ msg string }

func (e *AccountError) Error() string { return e.msg }

// ChooseSysdigAccount is the AWS account the role must trust, from what the tenant
// reports (empty when it does not answer awsCloudInformation) and the properties.
//
//   - On-prem (OnPremCredentials other than None): the role trusts the customer's own
//     principal; the answer is what Sysdig reports, for information, and never fails.
//   - A SysdigAwsAccountId given that differs from the reported one fails (both named).
//   - Reported: that one. Not reported: the given one; else us1's documented account for
//     us1; else fail, naming SysdigAwsAccountId and where to find it. Never a guess.
func ChooseSysdigAccount(reported string, p ExternalIDProperties) (account, source string, err error) {
	if p.OnPrem != OnPremNone {
		return reported, "reported (unused: on-prem principal)", nil
	}
	switch {
	case reported != "" && p.GivenAccount != "" && reported != p.GivenAccount:
		return "", "", &AccountError{fmt.Sprintf("SysdigAwsAccountId is %s but Sysdig (%s) reports its AWS account as %s: "+
			"Sysdig could never assume a role that trusts %s. Leave SysdigAwsAccountId empty (the stack then uses the account Sysdig reports) or set it to %s",
			p.GivenAccount, p.BaseURL, reported, p.GivenAccount, reported)}
	case reported != "":
		return reported, "reported by Sysdig", nil
	case p.GivenAccount != "":
		return p.GivenAccount, "SysdigAwsAccountId (the tenant does not report one)", nil
	case p.Region == US1Region:
		return US1SysdigAWSAccountID, "us1 default (the tenant does not report one)", nil
	}
	region := p.Region
	if region == "" {
		region = "unknown"
	}
	return "", "", &AccountError{fmt.Sprintf("Sysdig (%s) does not report its AWS account (no awsCloudInformation on this tenant) and SysdigRegion %s has no documented default: "+
		"set the SysdigAwsAccountId parameter to the AWS account Sysdig assumes roles from in your region. %s. The role was not created",
		p.BaseURL, region, AccountIDsHelp)}
}

// readAccountChoice reads SysdigRegion, SysdigAwsAccountId and OnPremCredentials.
func (r reader) readAccountChoice(p *ExternalIDProperties) error {
	var err error
	if p.Region, err = r.optionalString(PropSysdigRegion, ""); err != nil {
		return err
	}
	p.Region = strings.ToLower(p.Region)
	if len(p.Region) > 32 {
		return &PropertyError{PropSysdigRegion, "longer than 32 characters; give a Sysdig region such as us1, eu1 or custom"}
	}
	if p.GivenAccount, err = r.optionalString(PropSysdigAwsAccountID, ""); err != nil {
		return err
	}
	if p.GivenAccount != "" && !accountIDPattern.MatchString(p.GivenAccount) {
		return &PropertyError{PropSysdigAwsAccountID, fmt.Sprintf("%q is not a 12-digit AWS account id (leave it empty to use the account Sysdig reports)", truncate(p.GivenAccount, 40))}
	}
	mode, err := r.optionalString(PropOnPremCredentials, OnPremNone)
	if err != nil {
		return err
	}
	for _, m := range []string{OnPremNone, OnPremCreateUser, OnPremExistingPrincipal} {
		if strings.EqualFold(mode, m) {
			p.OnPrem = m
			return nil
		}
	}
	return &PropertyError{PropOnPremCredentials, fmt.Sprintf("%q is not None, CreateUser or ExistingPrincipal", truncate(mode, 40))}
}
