package sysdig

import (
	"fmt"
	"regexp"
	"strings"
)

// Role ARNs and provider ids: what the client accepts before anything is sent.

var (
	providerIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	roleARNRE    = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):iam::([0-9]{12}):role/((?:[\x21-\x7e]+/)*)([\w+=,.@-]{1,64})$`)
	accountIDRE  = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// ParseRoleARN splits an IAM role ARN into partition, account id and the bare
// role name (the last path segment).
func ParseRoleARN(arn string) (partition, accountID, roleName string, err error) {
	m := roleARNRE.FindStringSubmatch(strings.TrimSpace(arn))
	if m == nil || len(arn) > 2048 {
		return "", "", "", fmt.Errorf("sysdig: %q is not an IAM role ARN: expected arn:aws:iam::<12-digit account id>:role/<role name>", capText(printable(arn), 200))
	}
	return m[1], m[2], m[4], nil
}

// SameRole reports whether two role ARNs name the same role. IAM role names
// are unique per account regardless of path and case, and the v2 API loses the
// path (it stores the bare name), so account id and name decide.
func SameRole(a, b string) bool {
	if strings.EqualFold(a, b) {
		return a != ""
	}
	_, accA, nameA, errA := ParseRoleARN(a)
	_, accB, nameB, errB := ParseRoleARN(b)
	return errA == nil && errB == nil && accA == accB && strings.EqualFold(nameA, nameB)
}

func validateProviderID(id string) error {
	if !providerIDRE.MatchString(id) {
		return fmt.Errorf("sysdig: provider id %q is not valid: expected 1 to 128 characters of A-Z a-z 0-9 . _ -", capText(printable(id), 140))
	}
	return nil
}
