package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// RuleV2RootRolePath refuses ProviderApi v2 with a RolePath other than "/": the v2
// API takes only the role's name, so Sysdig would assume the role without its path, a
// role that does not exist (the registrar refuses the same, for stacks that bypass it).
const RuleV2RootRolePath = "V2RolePath"

// v2RolePathRule adds RuleV2RootRolePath to a template that has both parameters.
func (s *templateStack) v2RolePathRule() {
	if s.Params[ParamRolePath] == nil || s.Params[ParamProviderAPI] == nil {
		return
	}
	s.rule(RuleV2RootRolePath, "ProviderApi v2 drops RolePath, so Sysdig would assume another role: use v1 or RolePath /.",
		awscdk.Fn_ConditionOr(
			awscdk.Fn_ConditionEquals(s.str(ParamProviderAPI), jsii.String("v1")),
			awscdk.Fn_ConditionEquals(s.str(ParamRolePath), jsii.String("/")),
		))
}
