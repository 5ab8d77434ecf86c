package sysdig

import (
	"fmt"
	"regexp"
	"strings"

	"sysdig-aws-connect/internal/rolearn"
)

// Role ARNs and provider ids: what the client accepts before anything is sent.

var (
	providerIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	accountIDRE  = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// ParseRoleARN splits an IAM role ARN into partition, account id and the bare
// role name (the last path segment); see rolearn.Parse for what is accepted.
func ParseRoleARN(arn string) (partition, accountID, roleName string, err error) {
	a, err := rolearn.Parse(strings.TrimSpace(arn))
	if err != nil {
		return "", "", "", fmt.Errorf("sysdig: %w", err)
	}
	return a.Partition, a.AccountID, a.Name, nil
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

// CheckRoleForAPI refuses a role with a path (other than "/") on the v2 API: v2 takes
// the account id and the bare role name, so Sysdig would assume
// arn:aws:iam::<account>:role/<name>, a role that is not this one (the path is part of
// the ARN STS needs). v1 takes the whole ARN.
func CheckRoleForAPI(v APIVersion, roleARN string) error {
	a, err := rolearn.Parse(strings.TrimSpace(roleARN))
	if err != nil {
		return fmt.Errorf("sysdig: %w", err)
	}
	if v == V2 && a.HasPath() {
		return fmt.Errorf("sysdig: role %s has the path %s, and the v2 providers API takes only the role's name, so Sysdig would assume arn:%s:iam::%s:role/%s, another role: use the v1 API (ProviderApi v1) for a role with a path, or a role at path /", a, a.Path, a.Partition, a.AccountID, a.Name)
	}
	return nil
}
