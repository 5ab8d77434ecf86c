package localaws

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Organizations page sizes: AWS caps MaxResults at 20 for these lists.
const maxOrgPage = 20

// Account states of AWS Organizations (Account.State).
const (
	AccountActive         = "ACTIVE"
	AccountSuspended      = "SUSPENDED"
	AccountPendingClosure = "PENDING_CLOSURE"
)

// Organizations is a stand-in for the read side of AWS Organizations over its JSON 1.1
// protocol (X-Amz-Target AWSOrganizationsV20161128.<Action>): ListRoots,
// ListOrganizationalUnitsForParent, ListAccountsForParent, ListChildren, ListAccounts,
// DescribeAccount and DescribeOrganization, every list paginated as AWS does (at most 20
// per page). The real SDK client and the awscli work against it.
type Organizations struct {
	mu       sync.Mutex
	id       string
	mgmt     string
	root     string
	ous      map[string]string // OU id -> parent id
	names    map[string]string // OU and account names
	accounts map[string]*orgAccount
	calls    map[string]int
	nextOU   int
}

type orgAccount struct {
	id, parent, state string
}

// NewOrganizations returns an organization with its root and the management account in it.
func NewOrganizations(managementAccount string) *Organizations {
	o := &Organizations{id: "o-local12345", mgmt: managementAccount, root: "r-loc1",
		ous: map[string]string{}, names: map[string]string{}, accounts: map[string]*orgAccount{}, calls: map[string]int{}}
	o.accounts[managementAccount] = &orgAccount{id: managementAccount, parent: o.root, state: AccountActive}
	o.names[managementAccount] = "management"
	return o
}

// Start serves the stand-in on a free loopback port.
func (o *Organizations) Start() (url string, stop func()) { return start(o) }

// Root is the root's id.
func (o *Organizations) Root() string { return o.root }

// AddOU creates an OU under parent (the root or another OU) and returns its id.
func (o *Organizations) AddOU(parent, name string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nextOU++
	id := fmt.Sprintf("ou-loc1-%08d", o.nextOU)
	o.ous[id], o.names[id] = parent, name
	return id
}

// AddAccount puts an ACTIVE account under parent.
func (o *Organizations) AddAccount(parent, id, name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.accounts[id] = &orgAccount{id: id, parent: parent, state: AccountActive}
	o.names[id] = name
}

// SetState changes an account's state (closing an account makes it SUSPENDED).
func (o *Organizations) SetState(id, state string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a, ok := o.accounts[id]; ok {
		a.state = state
	}
}

// MoveAccount moves an account under another parent.
func (o *Organizations) MoveAccount(id, parent string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a, ok := o.accounts[id]; ok {
		a.parent = parent
	}
}

// RemoveAccount takes an account out of the organization.
func (o *Organizations) RemoveAccount(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.accounts, id)
}

// Calls returns how many requests each action received.
func (o *Organizations) Calls() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.calls))
	for k, v := range o.calls {
		out[k] = v
	}
	return out
}

type orgError struct {
	status int
	code   string
	msg    string
}

func (o *Organizations) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSOrganizationsV20161128.")
	var body map[string]any
	result, oerr := func() (any, *orgError) {
		if r.Method != http.MethodPost || !ok {
			return nil, &orgError{http.StatusBadRequest, "UnknownOperationException", "unknown operation"}
		}
		if _, qerr := checkSigV4(r, "organizations", ""); qerr != nil {
			return nil, &orgError{http.StatusBadRequest, qerr.Code, qerr.Message}
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
		if err != nil || json.Unmarshal(b, &body) != nil {
			return nil, &orgError{http.StatusBadRequest, "SerializationException", "the body is not a JSON object"}
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		o.calls[action]++
		return o.serve(action, body)
	}()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", newUUID())
	if oerr != nil {
		w.Header().Set("X-Amzn-ErrorType", oerr.code)
		w.WriteHeader(oerr.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": oerr.code, "Message": oerr.msg})
		return
	}
	_ = json.NewEncoder(w).Encode(result)
}

func str(body map[string]any, k string) string { s, _ := body[k].(string); return s }

// serve answers one action; o.mu is held.
func (o *Organizations) serve(action string, body map[string]any) (any, *orgError) {
	switch action {
	case "DescribeOrganization":
		return map[string]any{"Organization": map[string]any{"Id": o.id, "Arn": o.arn("organization/" + o.id),
			"FeatureSet": "ALL", "MasterAccountId": o.mgmt, "MasterAccountArn": o.arn("account/" + o.id + "/" + o.mgmt)}}, nil
	case "ListRoots":
		return map[string]any{"Roots": []any{map[string]any{"Id": o.root, "Arn": o.arn("root/" + o.id + "/" + o.root), "Name": "Root"}}}, nil
	case "DescribeAccount":
		a, ok := o.accounts[str(body, "AccountId")]
		if !ok {
			return nil, &orgError{http.StatusBadRequest, "AccountNotFoundException", "You specified an account that doesn't exist."}
		}
		return map[string]any{"Account": o.account(a)}, nil
	case "ListAccounts":
		ids := o.accountsUnder("")
		return o.page(body, "Accounts", len(ids), func(i int) any { return o.account(o.accounts[ids[i]]) })
	}
	parent := str(body, "ParentId")
	if parent != o.root && o.ous[parent] == "" {
		return nil, &orgError{http.StatusBadRequest, "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified."}
	}
	switch action {
	case "ListAccountsForParent":
		ids := o.accountsUnder(parent)
		return o.page(body, "Accounts", len(ids), func(i int) any { return o.account(o.accounts[ids[i]]) })
	case "ListOrganizationalUnitsForParent":
		ids := o.ousUnder(parent)
		return o.page(body, "OrganizationalUnits", len(ids), func(i int) any {
			return map[string]any{"Id": ids[i], "Arn": o.arn("ou/" + o.id + "/" + ids[i]), "Name": o.names[ids[i]]}
		})
	case "ListChildren":
		var ids []string
		typ := str(body, "ChildType")
		switch typ {
		case "ACCOUNT":
			ids = o.accountsUnder(parent)
		case "ORGANIZATIONAL_UNIT":
			ids = o.ousUnder(parent)
		default:
			return nil, &orgError{http.StatusBadRequest, "InvalidInputException", "ChildType must be ACCOUNT or ORGANIZATIONAL_UNIT"}
		}
		return o.page(body, "Children", len(ids), func(i int) any { return map[string]any{"Id": ids[i], "Type": typ} })
	}
	return nil, &orgError{http.StatusBadRequest, "UnknownOperationException", "unknown operation " + action}
}

func (o *Organizations) arn(rest string) string {
	return "arn:aws:organizations::" + o.mgmt + ":" + rest
}

func (o *Organizations) account(a *orgAccount) map[string]any {
	status := a.state
	if status == AccountPendingClosure {
		status = "PENDING_CLOSURE"
	}
	return map[string]any{"Id": a.id, "Arn": o.arn("account/" + o.id + "/" + a.id), "Name": o.names[a.id],
		"Email": a.id + "@example.com", "State": a.state, "Status": status, "JoinedMethod": "CREATED",
		"JoinedTimestamp": float64(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix())}
}

// accountsUnder lists the ids of the accounts directly under parent ("" : all), sorted.
func (o *Organizations) accountsUnder(parent string) []string {
	ids := make([]string, 0)
	for id, a := range o.accounts {
		if parent == "" || a.parent == parent {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (o *Organizations) ousUnder(parent string) []string {
	var ids []string
	for id, p := range o.ous {
		if p == parent {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// page answers one page of n items under key (item renders the i-th), with NextToken as
// AWS does.
func (o *Organizations) page(body map[string]any, key string, n int, item func(i int) any) (any, *orgError) {
	size := maxOrgPage
	if v, ok := body["MaxResults"].(float64); ok {
		if v < 1 || v > maxOrgPage {
			return nil, &orgError{http.StatusBadRequest, "InvalidInputException", "MaxResults must be between 1 and 20"}
		}
		size = int(v)
	}
	start := 0
	if tok := str(body, "NextToken"); tok != "" {
		at, err := strconv.Atoi(strings.TrimPrefix(tok, "next-"))
		if err != nil || at < 0 || at > n {
			return nil, &orgError{http.StatusBadRequest, "InvalidInputException", "Invalid NextToken"}
		}
		start = at
	}
	end := min(start+size, n)
	items := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		items = append(items, item(i))
	}
	out := map[string]any{key: items}
	if end < n {
		out["NextToken"] = "next-" + strconv.Itoa(end)
	}
	return out, nil
}
