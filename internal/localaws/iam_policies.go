package localaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
)

// IAMTag is a tag of a role.
type IAMTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// IAMAttachedPolicy is a managed policy attached to a role.
type IAMAttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

var managedPolicyARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/([\w+=,.@/-]+/)?([\w+=,.@-]{1,128})$`)

// roleNamed returns the role named name; the caller holds i.mu.
func (i *IAM) roleNamed(name string) (*iamRole, error) {
	r, ok := i.roles[name]
	if !ok {
		return nil, noSuch("role", name)
	}
	return r, nil
}

// PutRolePolicy creates or replaces an inline policy of a role (document: JSON).
func (i *IAM) PutRolePolicy(role, name, document string) error {
	if err := checkName("PolicyName", name); err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(document), &doc); err != nil {
		return &QueryError{Code: "MalformedPolicyDocument", Message: "Syntax errors in policy."}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	r, err := i.roleNamed(role)
	if err != nil {
		return err
	}
	if r.policies == nil {
		r.policies = map[string]string{}
	}
	r.policies[name] = document
	return nil
}

// DeleteRolePolicy removes an inline policy of a role.
func (i *IAM) DeleteRolePolicy(role, name string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	r, err := i.roleNamed(role)
	if err != nil {
		return err
	}
	if _, ok := r.policies[name]; !ok {
		return noSuch("role policy", name)
	}
	delete(r.policies, name)
	return nil
}

// AttachRolePolicy attaches the managed policy policyARN to a role.
func (i *IAM) AttachRolePolicy(role, policyARN string) error {
	m := managedPolicyARNRE.FindStringSubmatch(policyARN)
	if m == nil {
		return invalid("ARN " + policyARN + " is not valid.")
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	r, err := i.roleNamed(role)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(r.attached, func(a IAMAttachedPolicy) bool { return a.PolicyArn == policyARN }) {
		r.attached = append(r.attached, IAMAttachedPolicy{PolicyName: m[3], PolicyArn: policyARN})
	}
	return nil
}

// DetachRolePolicy detaches a managed policy from a role.
func (i *IAM) DetachRolePolicy(role, policyARN string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	r, err := i.roleNamed(role)
	if err != nil {
		return err
	}
	n := len(r.attached)
	r.attached = slices.DeleteFunc(r.attached, func(a IAMAttachedPolicy) bool { return a.PolicyArn == policyARN })
	if len(r.attached) == n {
		return noSuch("policy", policyARN)
	}
	return nil
}

// TagRole adds or replaces tags of a role (IAM allows 50).
func (i *IAM) TagRole(role string, tags ...IAMTag) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	r, err := i.roleNamed(role)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return invalid("1 validation error detected: tag key or value length out of range")
		}
		r.tags = slices.DeleteFunc(r.tags, func(o IAMTag) bool { return o.Key == t.Key })
		r.tags = append(r.tags, t)
	}
	if len(r.tags) > 50 {
		return &QueryError{Code: "LimitExceeded", Message: "The number of tags has reached the maximum limit."}
	}
	return nil
}

func (i *IAM) putRolePolicyAction(form url.Values) (any, error) {
	v, err := requiredAll(form, "RoleName", "PolicyName", "PolicyDocument")
	if err != nil {
		return nil, err
	}
	role, name, doc := v[0], v[1], v[2]
	return nil, i.PutRolePolicy(role, name, doc)
}

func (i *IAM) getRolePolicyAction(form url.Values) (any, error) {
	v, err := requiredAll(form, "RoleName", "PolicyName")
	if err != nil {
		return nil, err
	}
	role, name := v[0], v[1]
	i.mu.Lock()
	defer i.mu.Unlock()
	r, err := i.roleNamed(role)
	if err != nil {
		return nil, err
	}
	doc, ok := r.policies[name]
	if !ok {
		return nil, &QueryError{Status: http.StatusNotFound, Code: "NoSuchEntity", Message: fmt.Sprintf("The role policy with name %s cannot be found.", name)}
	}
	// IAM answers policy documents URL-encoded, as it does trust policies.
	return struct {
		RoleName       string `xml:"RoleName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{role, name, url.QueryEscape(doc)}, nil
}

// page cuts a sorted list at Marker (the index to resume from) and MaxItems (default
// 100, IAM's), as IAM's List calls do.
func page[T any](form url.Values, all []T) (items []T, truncated bool, marker string, err error) {
	start := 0
	if m := form.Get("Marker"); m != "" {
		if start, err = strconv.Atoi(m); err != nil || start < 0 || start > len(all) {
			return nil, false, "", invalid("Invalid Marker")
		}
	}
	maxItems := 100
	if v := form.Get("MaxItems"); v != "" {
		if maxItems, err = strconv.Atoi(v); err != nil || maxItems < 1 || maxItems > 1000 {
			return nil, false, "", invalid("MaxItems must be from 1 to 1000")
		}
	}
	end := min(start+maxItems, len(all))
	if end < len(all) {
		return all[start:end], true, strconv.Itoa(end), nil
	}
	return all[start:end], false, "", nil
}

func (i *IAM) listRolePoliciesAction(form url.Values) (any, error) {
	role, err := required(form, "RoleName")
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	r, err := i.roleNamed(role)
	var names []string
	if err == nil {
		for n := range r.policies {
			names = append(names, n)
		}
	}
	i.mu.Unlock()
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	items, truncated, marker, err := page(form, names)
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool     `xml:"IsTruncated"`
		Marker      string   `xml:"Marker,omitempty"`
	}{append([]string{}, items...), truncated, marker}, nil
}

func (i *IAM) deleteRolePolicyAction(form url.Values) (any, error) {
	v, err := requiredAll(form, "RoleName", "PolicyName")
	if err != nil {
		return nil, err
	}
	role, name := v[0], v[1]
	return nil, i.DeleteRolePolicy(role, name)
}

func (i *IAM) attachRolePolicyAction(form url.Values) (any, error) {
	v, err := requiredAll(form, "RoleName", "PolicyArn")
	if err != nil {
		return nil, err
	}
	role, arn := v[0], v[1]
	return nil, i.AttachRolePolicy(role, arn)
}

func (i *IAM) detachRolePolicyAction(form url.Values) (any, error) {
	v, err := requiredAll(form, "RoleName", "PolicyArn")
	if err != nil {
		return nil, err
	}
	role, arn := v[0], v[1]
	return nil, i.DetachRolePolicy(role, arn)
}

func (i *IAM) listAttachedRolePoliciesAction(form url.Values) (any, error) {
	role, err := required(form, "RoleName")
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	r, err := i.roleNamed(role)
	var all []IAMAttachedPolicy
	if err == nil {
		all = append(all, r.attached...)
	}
	i.mu.Unlock()
	if err != nil {
		return nil, err
	}
	sort.Slice(all, func(a, b int) bool { return all[a].PolicyArn < all[b].PolicyArn })
	items, truncated, marker, err := page(form, all)
	if err != nil {
		return nil, err
	}
	return struct {
		AttachedPolicies []IAMAttachedPolicy `xml:"AttachedPolicies>member"`
		IsTruncated      bool                `xml:"IsTruncated"`
		Marker           string              `xml:"Marker,omitempty"`
	}{append([]IAMAttachedPolicy{}, items...), truncated, marker}, nil
}

func (i *IAM) tagRoleAction(form url.Values) (any, error) {
	role, err := required(form, "RoleName")
	if err != nil {
		return nil, err
	}
	var tags []IAMTag
	for n := 1; n <= 50; n++ {
		k := form.Get(fmt.Sprintf("Tags.member.%d.Key", n))
		if k == "" {
			break
		}
		tags = append(tags, IAMTag{Key: k, Value: form.Get(fmt.Sprintf("Tags.member.%d.Value", n))})
	}
	if len(tags) == 0 {
		return nil, invalid("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return nil, i.TagRole(role, tags...)
}

// requiredAll is required for each name, in order: the values, or the first missing one's error.
func requiredAll(form url.Values, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for k, name := range names {
		v, err := required(form, name)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}
