package localaws

import (
	"crypto/rand"

	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// IAM is a stand-in for the AWS IAM calls the on-prem set-up and `sysdig-connect check`
// make, on the query protocol (QueryService): users and their access keys (CreateUser,
// GetUser, DeleteUser, CreateAccessKey, ListAccessKeys, DeleteAccessKey) and roles
// (CreateRole, GetRole, DeleteRole) with their inline and attached policies and tags
// (iam_policies.go). It keeps IAM's rules that tools meet: at most two
// access keys per user, a user with keys cannot be deleted, names are unique, and GetRole
// answers the trust policy URL-encoded, as IAM does.
type IAM struct {
	*QueryService

	mu        sync.Mutex
	account   string
	partition string
	users     map[string]*iamUser
	roles     map[string]*iamRole
	now       func() time.Time
}

type iamUser struct {
	name, path, id, boundary string
	created                  time.Time
	keys                     []*iamKey
}

type iamKey struct {
	id, secret, status string
	created            time.Time
}

type iamRole struct {
	name, path, id, trust string
	created               time.Time
	policies              map[string]string // inline: name → document (JSON)
	attached              []IAMAttachedPolicy
	tags                  []IAMTag
}

// MaxAccessKeysPerUser is IAM's quota.
const MaxAccessKeysPerUser = 2

var iamNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// NewIAM serves IAM for one account.
func NewIAM(accountID string) *IAM {
	i := &IAM{account: accountID, partition: "aws", users: map[string]*iamUser{}, roles: map[string]*iamRole{}, now: time.Now}
	i.QueryService = &QueryService{
		SigningName: "iam",
		XMLNS:       "https://iam.amazonaws.com/doc/2010-05-08/",
		Actions: map[string]QueryAction{
			"CreateUser":      i.createUserAction,
			"GetUser":         i.getUserAction,
			"DeleteUser":      i.deleteUserAction,
			"CreateAccessKey": i.createAccessKeyAction,
			"ListAccessKeys":  i.listAccessKeysAction,
			"DeleteAccessKey": i.deleteAccessKeyAction,
			"CreateRole":      i.createRoleAction,
			"GetRole":         i.getRoleAction,
			"DeleteRole":      i.deleteRoleAction,
			// Role policies and tags: iam_policies.go.
			"PutRolePolicy":            i.putRolePolicyAction,
			"GetRolePolicy":            i.getRolePolicyAction,
			"ListRolePolicies":         i.listRolePoliciesAction,
			"DeleteRolePolicy":         i.deleteRolePolicyAction,
			"AttachRolePolicy":         i.attachRolePolicyAction,
			"DetachRolePolicy":         i.detachRolePolicyAction,
			"ListAttachedRolePolicies": i.listAttachedRolePoliciesAction,
			"TagRole":                  i.tagRoleAction,
		},
	}
	return i
}

// Start serves the stand-in on a free loopback port.
func (i *IAM) Start() (url string, stop func()) { return start(i) }

// IAMUser is a user as IAM answers it.
type IAMUser struct {
	Path       string `xml:"Path"`
	UserName   string `xml:"UserName"`
	UserID     string `xml:"UserId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

// IAMAccessKey is a new access key (the only time IAM answers its secret).
type IAMAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	CreateDate      string `xml:"CreateDate"`
}

// IAMRole is a role as GetRole answers it (AssumeRolePolicyDocument URL-encoded).
type IAMRole struct {
	Path                     string   `xml:"Path"`
	RoleName                 string   `xml:"RoleName"`
	RoleID                   string   `xml:"RoleId"`
	Arn                      string   `xml:"Arn"`
	CreateDate               string   `xml:"CreateDate"`
	AssumeRolePolicyDocument string   `xml:"AssumeRolePolicyDocument"`
	Tags                     []IAMTag `xml:"Tags>member,omitempty"`
}

func noSuch(kind, name string) error {
	return &QueryError{Status: http.StatusNotFound, Code: "NoSuchEntity", Message: fmt.Sprintf("The %s with name %s cannot be found.", kind, name)}
}

func invalid(msg string) error { return &QueryError{Code: "ValidationError", Message: msg} }

func checkName(field, v string) error {
	if !iamNameRE.MatchString(v) {
		return invalid(fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", v, strings.ToLower(field[:1])+field[1:]))
	}
	return nil
}

func checkPath(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if len(p) > 512 || !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") {
		return "", invalid("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return p, nil
}

func (i *IAM) date(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (i *IAM) userLocked(u *iamUser) IAMUser {
	return IAMUser{Path: u.path, UserName: u.name, UserID: u.id, Arn: fmt.Sprintf("arn:%s:iam::%s:user%s%s", i.partition, i.account, u.path, u.name), CreateDate: i.date(u.created)}
}

// CreateUser creates a user (as the action does).
func (i *IAM) CreateUser(name, path, boundary string) (IAMUser, error) {
	if err := checkName("UserName", name); err != nil {
		return IAMUser{}, err
	}
	path, err := checkPath(path)
	if err != nil {
		return IAMUser{}, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if _, ok := i.users[name]; ok {
		return IAMUser{}, &QueryError{Status: http.StatusConflict, Code: "EntityAlreadyExists", Message: fmt.Sprintf("User with name %s already exists.", name)}
	}
	u := &iamUser{name: name, path: path, id: "AIDA" + randomUpper(17), boundary: boundary, created: i.now()}
	i.users[name] = u
	return i.userLocked(u), nil
}

// CreateAccessKey makes a new active key for the user; IAM allows two per user.
func (i *IAM) CreateAccessKey(userName string) (IAMAccessKey, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	u, ok := i.users[userName]
	if !ok {
		return IAMAccessKey{}, noSuch("user", userName)
	}
	if len(u.keys) >= MaxAccessKeysPerUser {
		return IAMAccessKey{}, &QueryError{Status: http.StatusConflict, Code: "LimitExceeded", Message: fmt.Sprintf("Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeysPerUser)}
	}
	k := &iamKey{id: "AKIA" + randomUpper(16), secret: randomSecret(40), status: "Active", created: i.now()}
	u.keys = append(u.keys, k)
	return IAMAccessKey{UserName: u.name, AccessKeyID: k.id, Status: k.status, SecretAccessKey: k.secret, CreateDate: i.date(k.created)}, nil
}

// AccessKeyIDs lists the user's key ids, oldest first.
func (i *IAM) AccessKeyIDs(userName string) []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	u, ok := i.users[userName]
	if !ok {
		return nil
	}
	var out []string
	for _, k := range u.keys {
		out = append(out, k.id)
	}
	return out
}

// CreateRole creates a role with its trust policy (JSON).
func (i *IAM) CreateRole(name, path, trust string) (IAMRole, error) {
	if err := checkName("RoleName", name); err != nil {
		return IAMRole{}, err
	}
	path, err := checkPath(path)
	if err != nil {
		return IAMRole{}, err
	}
	if strings.TrimSpace(trust) == "" {
		return IAMRole{}, invalid("1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if _, ok := i.roles[name]; ok {
		return IAMRole{}, &QueryError{Status: http.StatusConflict, Code: "EntityAlreadyExists", Message: fmt.Sprintf("Role with name %s already exists.", name)}
	}
	r := &iamRole{name: name, path: path, id: "AROA" + randomUpper(17), trust: trust, created: i.now()}
	i.roles[name] = r
	return i.roleLocked(r), nil
}

func (i *IAM) roleLocked(r *iamRole) IAMRole {
	return IAMRole{Path: r.path, RoleName: r.name, RoleID: r.id, Arn: fmt.Sprintf("arn:%s:iam::%s:role%s%s", i.partition, i.account, r.path, r.name),
		CreateDate: i.date(r.created), AssumeRolePolicyDocument: url.QueryEscape(r.trust), Tags: append([]IAMTag(nil), r.tags...)}
}

// DeleteRole removes a role; a missing one is NoSuchEntity.
func (i *IAM) DeleteRole(name string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	r, ok := i.roles[name]
	if !ok {
		return noSuch("role", name)
	}
	if len(r.policies) > 0 || len(r.attached) > 0 {
		return &QueryError{Status: http.StatusConflict, Code: "DeleteConflict", Message: "Cannot delete entity, must delete policies first."}
	}
	delete(i.roles, name)
	return nil
}

// DeleteUser removes a user without access keys.
func (i *IAM) DeleteUser(name string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	u, ok := i.users[name]
	if !ok {
		return noSuch("user", name)
	}
	if len(u.keys) > 0 {
		return &QueryError{Status: http.StatusConflict, Code: "DeleteConflict", Message: "Cannot delete entity, must delete access keys first."}
	}
	delete(i.users, name)
	return nil
}

// DeleteAccessKey removes one of the user's keys.
func (i *IAM) DeleteAccessKey(userName, keyID string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	u, ok := i.users[userName]
	if !ok {
		return noSuch("user", userName)
	}
	for n, k := range u.keys {
		if k.id == keyID {
			u.keys = append(u.keys[:n], u.keys[n+1:]...)
			return nil
		}
	}
	return &QueryError{Status: http.StatusNotFound, Code: "NoSuchEntity", Message: fmt.Sprintf("The Access Key with id %s cannot be found.", keyID)}
}

func required(form url.Values, name string) (string, error) {
	v := form.Get(name)
	if v == "" {
		return "", invalid(fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", strings.ToLower(name[:1])+name[1:]))
	}
	return v, nil
}

func (i *IAM) createUserAction(form url.Values) (any, error) {
	name, err := required(form, "UserName")
	if err != nil {
		return nil, err
	}
	u, err := i.CreateUser(name, form.Get("Path"), form.Get("PermissionsBoundary"))
	if err != nil {
		return nil, err
	}
	return struct{ User IAMUser }{u}, nil
}

func (i *IAM) getUserAction(form url.Values) (any, error) {
	name, err := required(form, "UserName")
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	u, ok := i.users[name]
	if !ok {
		return nil, noSuch("user", name)
	}
	return struct{ User IAMUser }{i.userLocked(u)}, nil
}

func (i *IAM) deleteUserAction(form url.Values) (any, error) {
	name, err := required(form, "UserName")
	if err != nil {
		return nil, err
	}
	return nil, i.DeleteUser(name)
}

func (i *IAM) createAccessKeyAction(form url.Values) (any, error) {
	name, err := required(form, "UserName")
	if err != nil {
		return nil, err
	}
	k, err := i.CreateAccessKey(name)
	if err != nil {
		return nil, err
	}
	return struct{ AccessKey IAMAccessKey }{k}, nil
}

type iamKeyMetadata struct {
	UserName    string `xml:"UserName"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

func (i *IAM) listAccessKeysAction(form url.Values) (any, error) {
	name, err := required(form, "UserName")
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	u, ok := i.users[name]
	if !ok {
		return nil, noSuch("user", name)
	}
	out := struct {
		Members     []iamKeyMetadata `xml:"AccessKeyMetadata>member"`
		IsTruncated bool             `xml:"IsTruncated"`
	}{Members: []iamKeyMetadata{}}
	keys := append([]*iamKey(nil), u.keys...)
	sort.SliceStable(keys, func(a, b int) bool { return keys[a].created.Before(keys[b].created) })
	for _, k := range keys {
		out.Members = append(out.Members, iamKeyMetadata{UserName: u.name, AccessKeyID: k.id, Status: k.status, CreateDate: i.date(k.created)})
	}
	return out, nil
}

func (i *IAM) deleteAccessKeyAction(form url.Values) (any, error) {
	id, err := required(form, "AccessKeyId")
	if err != nil {
		return nil, err
	}
	user := form.Get("UserName")
	if user == "" {
		// IAM takes the caller's own user; this stand-in has no caller identity.
		return nil, invalid("UserName is required by this stand-in")
	}
	return nil, i.DeleteAccessKey(user, id)
}

func (i *IAM) createRoleAction(form url.Values) (any, error) {
	name, err := required(form, "RoleName")
	if err != nil {
		return nil, err
	}
	r, err := i.CreateRole(name, form.Get("Path"), form.Get("AssumeRolePolicyDocument"))
	if err != nil {
		return nil, err
	}
	return struct{ Role IAMRole }{r}, nil
}

func (i *IAM) getRoleAction(form url.Values) (any, error) {
	name, err := required(form, "RoleName")
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	r, ok := i.roles[name]
	if !ok {
		return nil, noSuch("role", name)
	}
	return struct{ Role IAMRole }{i.roleLocked(r)}, nil
}

func (i *IAM) deleteRoleAction(form url.Values) (any, error) {
	name, err := required(form, "RoleName")
	if err != nil {
		return nil, err
	}
	return nil, i.DeleteRole(name)
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randomUpper(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for k := range b {
		b[k] = upperAlnum[int(b[k])%len(upperAlnum)]
	}
	return string(b)
}

const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func randomSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for k := range b {
		b[k] = secretAlphabet[int(b[k])%len(secretAlphabet)]
	}
	return string(b)
}
