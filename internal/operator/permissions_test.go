package operator

import (
	"encoding/json"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/permissions"
)

// policyDocument allows actions, as the stack's policies do.
func policyDocument(actions ...string) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Effect": "Allow", "Action": actions, "Resource": "*"}}})
	return string(b)
}

// grantCurrent gives a role the current permissions version, as the stack does.
func grantCurrent(t testing.TB, i *localaws.IAM, role string) {
	t.Helper()
	if err := i.PutRolePolicy(role, permissions.CloudWatchPolicy, policyDocument(permissions.Names(permissions.Current(permissions.CloudWatchPolicy))...)); err != nil {
		t.Fatal(err)
	}
	if err := i.TagRole(role, localaws.IAMTag{Key: permissions.TagKey, Value: permissions.VersionString()}); err != nil {
		t.Fatal(err)
	}
}

// removeRole deletes a role and its policies (IAM refuses to delete a role with any).
func removeRole(h *harness, name string) {
	_ = h.iam.DeleteRolePolicy(name, permissions.CloudWatchPolicy)
	if err := h.iam.DeleteRole(name); err != nil {
		h.t.Fatal(err)
	}
}

// check compares the role's policies with the current permissions version, read with the
// real IAM client: what is missing, what is extra, one line with its fix.
func TestCheckComparesThePermissions(t *testing.T) {
	current := permissions.Names(permissions.Current(permissions.CloudWatchPolicy))
	put := func(name string, actions ...string) func(*harness) {
		return func(h *harness) {
			seed(testStackRole, "x")(h)
			if err := h.iam.PutRolePolicy("sysdig-role", name, policyDocument(actions...)); err != nil {
				h.t.Fatal(err)
			}
		}
	}
	fix := "fix: update the stack with the current template (it applies version " + permissions.VersionString()
	runCases(t, []tc{
		{name: "exactly the current version", setup: seed(testStackRole, "x"), args: []string{"check"},
			want: expect{code: 0, stdout: []string{"[ OK ] Role permissions: role sysdig-role has exactly the actions of permissions version " + permissions.VersionString() +
				" (tag " + permissions.TagKey + "=" + permissions.VersionString() + ")"}}},
		{name: "an action missing", setup: put(permissions.CloudWatchPolicy, current[1:]...), args: []string{"check"},
			want: expect{code: 1, stderr: []string{"check failed: 1 of 8"}, stdout: []string{
				"[FAIL] Role permissions: role sysdig-role differs from permissions version " + permissions.VersionString(),
				"missing sysdig_cloudwatch: " + current[0], fix}, notStdout: []string{"extra"}}},
		{name: "an action added by hand", setup: put(permissions.CloudWatchPolicy, append(current, "iam:ListRoles")...), args: []string{"check"},
			want: expect{code: 1, stdout: []string{"extra sysdig_cloudwatch: iam:ListRoles", fix}, notStdout: []string{"missing"}}},
		{name: "another inline policy and a managed one", setup: func(h *harness) {
			put("extra-reads", "s3:GetObject", "s3:ListAllMyBuckets")(h)
			if err := h.iam.AttachRolePolicy("sysdig-role", "arn:aws:iam::aws:policy/ReadOnlyAccess"); err != nil {
				h.t.Fatal(err)
			}
		}, args: []string{"check"},
			want: expect{code: 1, stdout: []string{"extra inline policy extra-reads (s3:GetObject, s3:ListAllMyBuckets), managed policy arn:aws:iam::aws:policy/ReadOnlyAccess"}}},
		{name: "no sysdig_cloudwatch", setup: func(h *harness) {
			seed(testStackRole, "x")(h)
			if err := h.iam.DeleteRolePolicy("sysdig-role", permissions.CloudWatchPolicy); err != nil {
				h.t.Fatal(err)
			}
		}, args: []string{"check"},
			want: expect{code: 1, stdout: []string{"missing sysdig_cloudwatch: " + current[0]}}},
		{name: "the capture bucket's policy as the stack writes it", setup: put(permissions.S3Policy, permissions.Names(permissions.Current(permissions.S3Policy))...), args: []string{"check"},
			want: expect{code: 0, stdout: []string{"[ OK ] Role permissions"}}},
		{name: "the capture bucket's policy widened", setup: put(permissions.S3Policy, "s3:*"), args: []string{"check"},
			want: expect{code: 1, stdout: []string{"extra sysdig_s3: s3:*", "missing sysdig_s3: s3:DeleteObject"}}},
		{name: "role missing", setup: func(h *harness) { removeRole(h, "sysdig-role") }, args: []string{"check"},
			want: expect{code: 1, stdout: []string{"[FAIL] Role permissions: iam:GetRole sysdig-role: NoSuchEntity", "iam:ListRolePolicies"}}},
	})
}

func TestListText(t *testing.T) {
	if got := listText([]string{"a", "b", "c"}, 2); got != "a, b and 1 more" {
		t.Errorf("listText = %q", got)
	}
	if got := listText([]string{"a"}, 2); !strings.EqualFold(got, "a") {
		t.Errorf("listText = %q", got)
	}
}
