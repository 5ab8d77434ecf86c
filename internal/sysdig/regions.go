package sysdig

import (
	"fmt"
	"regexp"
	"strings"
)

// awsRegionRE is the form of an AWS region code: a two-letter area, an
// optional partition qualifier (gov, iso, isob, isoe, isof), a direction and a
// number: us-east-1, us-gov-west-1, cn-north-1, ap-southeast-3, eu-central-2,
// il-central-1, mx-central-1, us-isob-east-1, eu-isoe-west-1.
var awsRegionRE = regexp.MustCompile(`^[a-z]{2}(-(gov|iso[a-z]?))?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9][0-9]?$`)

// SysdigRegionName turns an AWS region code into the name Sysdig uses in a
// provider's "regions" option (SEED: us-east-1 → US_EAST_1). It accepts
// either form ("us-east-1" or "US_EAST_1") and checks that it is a well-formed
// AWS region code; it does not check that AWS has opened that region.
func SysdigRegionName(region string) (string, error) {
	r := strings.TrimSpace(region)
	code := strings.ToLower(strings.ReplaceAll(r, "_", "-"))
	if len(r) > 32 || !awsRegionRE.MatchString(code) {
		return "", fmt.Errorf("sysdig: %q is not an AWS region: expected an AWS region code such as us-east-1, us-gov-west-1 or ap-southeast-3, or Sysdig's form of it such as US_EAST_1", capText(printable(region), 64))
	}
	// Either all lower case with dashes or all upper case with underscores;
	// a mix ("us_east-1", "Us-East-1") is more likely a typo than intent.
	if r != code && r != strings.ToUpper(strings.ReplaceAll(code, "-", "_")) {
		return "", fmt.Errorf("sysdig: region %q mixes forms: expected an AWS region code such as us-east-1 or Sysdig's form such as US_EAST_1", capText(printable(region), 64))
	}
	return strings.ToUpper(strings.ReplaceAll(code, "-", "_")), nil
}

// sysdigRegionNames normalizes and de-duplicates a region list, keeping order.
func sysdigRegionNames(regions []string) ([]string, error) {
	if len(regions) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(regions))
	seen := make(map[string]bool, len(regions))
	for _, r := range regions {
		name, err := SysdigRegionName(r)
		if err != nil {
			return nil, err
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}
