package localaws

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxInstancesPage is ListStackInstances' largest page (MaxResults 1-100).
const maxInstancesPage = 100

// Stack is a stack DescribeStacks answers: the deployer stack `sysdig-connect org status` reads.
type Stack struct {
	Name       string
	ID         string // arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID
	Status     string // e.g. CREATE_COMPLETE
	Parameters map[string]string
	Outputs    map[string]string
}

// PutStack adds or replaces a stack DescribeStacks answers for its name or id.
func (c *CloudFormation) PutStack(s Stack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := s
	c.stacks[s.Name] = &cp
}

func (c *CloudFormation) describeStacks(form url.Values) (any, error) {
	name := form.Get("StackName")
	c.mu.Lock()
	defer c.mu.Unlock()
	var st *Stack
	for _, s := range c.stacks {
		if s.Name == name || s.ID == name {
			st = s
		}
	}
	if st == nil {
		// AWS answers a missing stack with a 400 ValidationError.
		return nil, validationError("Stack with id %s does not exist", name)
	}
	type kv struct {
		ParameterKey   string `xml:",omitempty"`
		ParameterValue string `xml:",omitempty"`
		OutputKey      string `xml:",omitempty"`
		OutputValue    string `xml:",omitempty"`
	}
	pairs := func(m map[string]string, output bool) []kv {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := make([]kv, 0, len(keys))
		for _, k := range keys {
			if output {
				out = append(out, kv{OutputKey: k, OutputValue: m[k]})
			} else {
				out = append(out, kv{ParameterKey: k, ParameterValue: m[k]})
			}
		}
		return out
	}
	type stack struct {
		StackName    string
		StackID      string `xml:"StackId"`
		StackStatus  string
		CreationTime string
		Parameters   []kv `xml:"Parameters>member"`
		Outputs      []kv `xml:"Outputs>member"`
	}
	return struct {
		Stacks []stack `xml:"Stacks>member"`
	}{[]stack{{StackName: st.Name, StackID: st.ID, StackStatus: st.Status, CreationTime: "2026-01-01T00:00:00Z",
		Parameters: pairs(st.Parameters, false), Outputs: pairs(st.Outputs, true)}}}, nil
}

// listStackInstances pages through the StackSet's instances in account order, with
// each one's detailed status and reason.
func (c *CloudFormation) listStackInstances(form url.Values) (any, error) {
	name, callAs := form.Get("StackSetName"), form.Get("CallAs")
	if name == "" {
		return nil, validationError("1 validation error detected: Value null at 'stackSetName' failed to satisfy constraint: Member must not be null")
	}
	if callAs == "" {
		callAs = "SELF"
	}
	size := maxInstancesPage
	if v := form.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxInstancesPage {
			return nil, validationError("1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", v)
		}
		size = n
	}
	start := 0
	if tok := form.Get("NextToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		if err != nil || n < 0 {
			return nil, validationError("Invalid NextToken")
		}
		start = n
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ss, ok := c.stackSets[name]
	if !ok || ss.callAs != callAs {
		return nil, &QueryError{Status: http.StatusNotFound, Code: "StackSetNotFoundException", Message: fmt.Sprintf("StackSet %s not found", name)}
	}
	keys := make([]string, 0, len(ss.instances))
	for k := range ss.instances {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	type detailed struct {
		DetailedStatus string
	}
	type summary struct {
		StackSetID           string `xml:"StackSetId"`
		Region               string
		Account              string
		StackID              string `xml:"StackId,omitempty"`
		Status               string
		StatusReason         string `xml:",omitempty"`
		StackInstanceStatus  detailed
		OrganizationalUnitID string `xml:"OrganizationalUnitId,omitempty"`
		DriftStatus          string
	}
	out := struct {
		Summaries []summary `xml:"Summaries>member"`
		NextToken string    `xml:",omitempty"`
	}{Summaries: []summary{}}
	end := min(start+size, len(keys))
	for _, k := range keys[min(start, len(keys)):end] {
		in := ss.instances[k]
		out.Summaries = append(out.Summaries, summary{StackSetID: ss.id, Region: in.Region, Account: in.Account, StackID: in.StackID,
			Status: summaryStatus(in.DetailedStatus), StatusReason: in.Reason, StackInstanceStatus: detailed{in.DetailedStatus},
			OrganizationalUnitID: in.OU, DriftStatus: "NOT_CHECKED"})
	}
	if end < len(keys) {
		out.NextToken = "page-" + strconv.Itoa(end)
	}
	return out, nil
}
