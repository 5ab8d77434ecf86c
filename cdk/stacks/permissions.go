package stacks

import (
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/internal/permissions"
)

// OutPermissionsVersion is the output naming the version of the Sysdig role's
// permissions the stack applies (internal/permissions, docs/permissions.md); the role
// carries the same value in its tag permissions.TagKey.
const OutPermissionsVersion = "PermissionsVersion"

func (s *templateStack) permissionsVersionOutput() {
	s.output(OutPermissionsVersion, "Version of the Sysdig role's permissions (docs/permissions.md).", jsii.String(permissions.VersionString()), nil)
}
