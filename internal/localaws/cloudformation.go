package localaws

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"
)

// Stack instance detailed statuses (StackInstance.StackInstanceStatus.DetailedStatus):
// PENDING and RUNNING mean a StackSet operation is under way in that account and region.
const (
	InstancePending   = "PENDING"
	InstanceRunning   = "RUNNING"
	InstanceSucceeded = "SUCCEEDED"
	InstanceFailed    = "FAILED"
	InstanceCancelled = "CANCELLED"
)

// StackInstance is one stack instance of a StackSet, as DescribeStackInstance returns it.
type StackInstance struct {
	Account        string
	Region         string
	StackID        string // empty until the StackSet has created the stack
	DetailedStatus string // PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, INOPERABLE…
	OU             string // OrganizationalUnitId, optional
	Reason         string // StatusReason, e.g. why the instance failed
}

// CloudFormation is a stand-in for the one CloudFormation action the registrar calls,
// DescribeStackInstance, over the query protocol (the real SDK client and the awscli
// work against it). StackSets and their instances are set with PutStackInstance; a
// StackSet may require a CallAs (DELEGATED_ADMIN for one a delegated administrator owns),
// and a request with another CallAs does not find it, as in AWS.
type CloudFormation struct {
	*QueryService

	mu        sync.Mutex
	stackSets map[string]*localStackSet
	stacks    map[string]*Stack // DescribeStacks, by name
}

type localStackSet struct {
	id        string
	callAs    string
	instances map[string]StackInstance // by account + "/" + region
}

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
)

// NewCloudFormation returns a stand-in for the StackSets' administrator account. Region,
// when not empty, is the region requests must be signed for.
func NewCloudFormation(region string) *CloudFormation {
	c := &CloudFormation{stackSets: map[string]*localStackSet{}, stacks: map[string]*Stack{}}
	c.QueryService = &QueryService{
		SigningName: "cloudformation",
		Region:      region,
		XMLNS:       "http://cloudformation.amazonaws.com/doc/2010-05-15/",
		Actions: map[string]QueryAction{"DescribeStackInstance": c.describeStackInstance,
			"ListStackInstances": c.listStackInstances, "DescribeStacks": c.describeStacks},
	}
	return c
}

// Start serves the stand-in on a free loopback port.
func (c *CloudFormation) Start() (url string, stop func()) { return start(c) }

// PutStackSet creates (or changes) the StackSet name; callAs is the CallAs requests must
// use to see it: "SELF" (or empty) for the management account's own, "DELEGATED_ADMIN"
// for one a delegated administrator created.
func (c *CloudFormation) PutStackSet(name, callAs string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stackSet(name).callAs = callAs
}

func (c *CloudFormation) stackSet(name string) *localStackSet {
	ss, ok := c.stackSets[name]
	if !ok {
		ss = &localStackSet{id: name + ":" + newUUID(), callAs: "SELF", instances: map[string]StackInstance{}}
		c.stackSets[name] = ss
	}
	return ss
}

// PutStackInstance adds or replaces a stack instance of the StackSet name (created with
// CallAs SELF when it does not exist yet).
func (c *CloudFormation) PutStackInstance(name string, in StackInstance) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stackSet(name).instances[in.Account+"/"+in.Region] = in
}

// SetDetailedStatus changes the status of an existing stack instance; it reports whether
// there was one.
func (c *CloudFormation) SetDetailedStatus(name, account, region, status string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ss, ok := c.stackSets[name]
	if !ok {
		return false
	}
	in, ok := ss.instances[account+"/"+region]
	if ok {
		in.DetailedStatus = status
		ss.instances[account+"/"+region] = in
	}
	return ok
}

// RemoveStackInstance deletes a stack instance, as DeleteStackInstances does when it ends.
func (c *CloudFormation) RemoveStackInstance(name, account, region string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ss, ok := c.stackSets[name]; ok {
		delete(ss.instances, account+"/"+region)
	}
}

func validationError(format string, args ...any) error {
	return &QueryError{Code: "ValidationError", Message: fmt.Sprintf(format, args...)}
}

func (c *CloudFormation) describeStackInstance(form url.Values) (any, error) {
	name, account, region := form.Get("StackSetName"), form.Get("StackInstanceAccount"), form.Get("StackInstanceRegion")
	callAs := form.Get("CallAs")
	switch {
	case name == "":
		return nil, validationError("1 validation error detected: Value null at 'stackSetName' failed to satisfy constraint: Member must not be null")
	case !accountPattern.MatchString(account):
		return nil, validationError("1 validation error detected: Value '%s' at 'stackInstanceAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9]{12}$", account)
	case !regionPattern.MatchString(region):
		return nil, validationError("1 validation error detected: Value '%s' at 'stackInstanceRegion' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9-]{1,128}$", region)
	case callAs != "" && callAs != "SELF" && callAs != "DELEGATED_ADMIN":
		return nil, validationError("1 validation error detected: Value '%s' at 'callAs' failed to satisfy constraint: Member must satisfy enum value set: [SELF, DELEGATED_ADMIN]", callAs)
	}
	if callAs == "" {
		callAs = "SELF"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ss, ok := c.stackSets[name]
	if !ok || ss.callAs != callAs {
		return nil, &QueryError{Status: http.StatusNotFound, Code: "StackSetNotFoundException", Message: fmt.Sprintf("StackSet %s not found", name)}
	}
	in, ok := ss.instances[account+"/"+region]
	if !ok {
		return nil, &QueryError{Status: http.StatusNotFound, Code: "StackInstanceNotFoundException",
			Message: fmt.Sprintf("Stack instance for account %s in region %s not found for StackSet %s", account, region, ss.id)}
	}
	type detailed struct {
		DetailedStatus string
	}
	type instance struct {
		StackSetID           string `xml:"StackSetId"`
		Region               string
		Account              string
		StackID              string `xml:"StackId,omitempty"`
		Status               string
		StackInstanceStatus  detailed
		OrganizationalUnitID string `xml:"OrganizationalUnitId,omitempty"`
		DriftStatus          string
	}
	return struct {
		StackInstance instance
	}{instance{
		StackSetID: ss.id, Region: in.Region, Account: in.Account, StackID: in.StackID,
		Status: summaryStatus(in.DetailedStatus), StackInstanceStatus: detailed{in.DetailedStatus},
		OrganizationalUnitID: in.OU, DriftStatus: "NOT_CHECKED",
	}}, nil
}

// summaryStatus is StackInstance.Status for a detailed status: CURRENT once an operation
// succeeded, INOPERABLE after a failed deletion, OUTDATED while one runs or after a failure.
func summaryStatus(detailed string) string {
	switch detailed {
	case InstanceSucceeded:
		return "CURRENT"
	case "INOPERABLE":
		return "INOPERABLE"
	}
	return "OUTDATED"
}
