package operator

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"sysdig-aws-connect/internal/permissions"
	"sysdig-aws-connect/internal/registrar"
)

const checkPermissions = "Role permissions"

// maxPolicyPages bounds the listing of a role's policies (IAM allows a few hundred).
const maxPolicyPages = 20

// rolePolicies is what a role is allowed, as IAM answers it.
type rolePolicies struct {
	inline   map[string][]string // inline policy name → actions it allows
	attached []string            // managed policy ARNs
	tag      string              // the permissions-version tag, "" when absent
}

// readRolePolicies reads a role's inline policies (ListRolePolicies, GetRolePolicy per
// policy), its attached managed policies and its tags.
func readRolePolicies(a *app, api IAMAPI, role string) (rolePolicies, error) {
	out := rolePolicies{inline: map[string][]string{}}
	got, err := api.GetRole(a.ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		return out, fmt.Errorf("iam:GetRole %s: %w", role, awsErr(err))
	}
	for _, t := range got.Role.Tags {
		if aws.ToString(t.Key) == permissions.TagKey {
			out.tag = aws.ToString(t.Value)
		}
	}
	var names []string
	pages := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	for n := 0; pages.HasMorePages() && n < maxPolicyPages; n++ {
		p, err := pages.NextPage(a.ctx)
		if err != nil {
			return out, fmt.Errorf("iam:ListRolePolicies %s: %w", role, awsErr(err))
		}
		names = append(names, p.PolicyNames...)
	}
	for _, name := range names {
		p, err := api.GetRolePolicy(a.ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
		if err != nil {
			return out, fmt.Errorf("iam:GetRolePolicy %s %s: %w", role, name, awsErr(err))
		}
		actions, err := permissions.Allowed(aws.ToString(p.PolicyDocument))
		if err != nil {
			return out, fmt.Errorf("role %s, policy %s: %w", role, name, err)
		}
		out.inline[name] = actions
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for n := 0; attached.HasMorePages() && n < maxPolicyPages; n++ {
		p, err := attached.NextPage(a.ctx)
		if err != nil {
			return out, fmt.Errorf("iam:ListAttachedRolePolicies %s: %w", role, awsErr(err))
		}
		for _, ap := range p.AttachedPolicies {
			out.attached = append(out.attached, aws.ToString(ap.PolicyArn))
		}
	}
	return out, nil
}

// permissionsDiff is how a role's policies differ from the current version.
type permissionsDiff struct {
	missing, extra []string // "policy: action" and "inline policy X", "managed policy ARN"
}

func diffPolicies(got rolePolicies) permissionsDiff {
	var d permissionsDiff
	for _, policy := range permissions.Policies {
		actions, present := got.inline[policy]
		// sysdig_s3 exists only with a capture bucket: its absence is no difference.
		if !present && policy == permissions.S3Policy {
			continue
		}
		missing, extra := permissions.Diff(permissions.Names(permissions.Current(policy)), actions)
		for _, m := range missing {
			d.missing = append(d.missing, policy+": "+m)
		}
		for _, e := range extra {
			d.extra = append(d.extra, policy+": "+e)
		}
	}
	var others []string
	for name := range got.inline {
		if !slices.Contains(permissions.Policies, name) {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	for _, name := range others {
		d.extra = append(d.extra, fmt.Sprintf("inline policy %s (%s)", name, listText(got.inline[name], 5)))
	}
	for _, arn := range got.attached {
		d.extra = append(d.extra, "managed policy "+arn)
	}
	return d
}

// listText joins up to n items, saying how many more there are.
func listText(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// checkRolePermissions compares the role's policies with the current permissions
// version (internal/permissions, docs/permissions.md): one line, naming what is missing
// and what is extra.
func (c *checkCmd) checkRolePermissions(a *app, l *checklist, role string) {
	parsed, err := registrar.ParseRoleARN(role)
	if role == "" || err != nil {
		l.skip(checkPermissions, "needs the role")
		return
	}
	if a.deps.IAM == nil {
		l.skip(checkPermissions, "needs an IAM client")
		return
	}
	api, err := a.deps.IAM(a.ctx)
	var got rolePolicies
	if err == nil {
		got, err = readRolePolicies(a, api, parsed.Name)
	}
	if err != nil {
		fix := "configure AWS credentials of account " + parsed.AccountID + " allowed iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy and iam:ListAttachedRolePolicies"
		l.fail(checkPermissions, oneLine(err.Error()), fix)
		return
	}
	version := permissions.Version()
	tag := "no " + permissions.TagKey + " tag"
	if got.tag != "" {
		tag = "tag " + permissions.TagKey + "=" + clean(got.tag, 20)
	}
	d := diffPolicies(got)
	if len(d.missing) == 0 && len(d.extra) == 0 {
		l.ok(checkPermissions, fmt.Sprintf("role %s has exactly the actions of permissions version %d (%s)", parsed.Name, version, tag))
		return
	}
	var parts []string
	if len(d.missing) > 0 {
		parts = append(parts, "missing "+listText(d.missing, 8))
	}
	if len(d.extra) > 0 {
		parts = append(parts, "extra "+listText(d.extra, 8))
	}
	was := ""
	if v, ok := permissions.VersionOf(permissions.CloudWatchPolicy, got.inline[permissions.CloudWatchPolicy]); ok && v != version {
		was = fmt.Sprintf("; %s matches version %d", permissions.CloudWatchPolicy, v)
	}
	l.fail(checkPermissions,
		clean(fmt.Sprintf("role %s differs from permissions version %d (%s%s): %s", parsed.Name, version, tag, was, strings.Join(parts, "; ")), 1500),
		fmt.Sprintf("update the stack with the current template (it applies version %d; docs/permissions.md lists what each version changed), and remove policies added to the role by hand", version))
}
