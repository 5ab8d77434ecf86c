package metrics

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Summary is what the per-request records of a log say, for local runs (make demo).
type Summary struct {
	// Records counts valid per-request records; Invalid the lines meant as EMF records
	// that CloudWatch would reject (each one a lost metric).
	Records, Invalid int
	// Groups are the records by outcome, then resource type.
	Groups []Group
}

// Group is the records of one outcome and resource type.
type Group struct {
	Outcome, ResourceType string
	Requests              int
	// ByRequestType counts the requests of each type (Create, Update, Delete).
	ByRequestType               map[string]int
	SysdigCalls, ThrottledCalls int64
	SysdigTimeMs, TotalTimeMs   int64
}

// perRequest is the part of a per-request record a summary reads.
type perRequest struct {
	ResourceType   string  `json:"ResourceType"`
	RequestType    string  `json:"RequestType"`
	Outcome        string  `json:"Outcome"`
	Requests       float64 `json:"Requests"`
	SysdigCalls    float64 `json:"SysdigCalls"`
	ThrottledCalls float64 `json:"ThrottledCalls"`
	SysdigTime     float64 `json:"SysdigTime"`
	TotalTime      float64 `json:"TotalTime"`
	AWS            struct {
		CloudWatchMetrics []struct {
			Namespace string `json:"Namespace"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
}

// Summarize reads the per-request records (namespace SysdigAwsConnect, a Requests
// metric) among log lines; other lines are skipped.
func Summarize(lines []string) Summary {
	var s Summary
	groups := map[[2]string]*Group{}
	for _, line := range lines {
		if !IsRecord([]byte(line)) {
			continue
		}
		if Validate([]byte(line)) != nil {
			s.Invalid++
			continue
		}
		var r perRequest
		if json.Unmarshal([]byte(line), &r) != nil || len(r.AWS.CloudWatchMetrics) == 0 ||
			r.AWS.CloudWatchMetrics[0].Namespace != Namespace || r.Requests != 1 {
			continue
		}
		s.Records++
		k := [2]string{r.Outcome, r.ResourceType}
		g := groups[k]
		if g == nil {
			g = &Group{Outcome: r.Outcome, ResourceType: r.ResourceType, ByRequestType: map[string]int{}}
			groups[k] = g
		}
		g.Requests++
		g.ByRequestType[r.RequestType]++
		g.SysdigCalls += int64(r.SysdigCalls)
		g.ThrottledCalls += int64(r.ThrottledCalls)
		g.SysdigTimeMs += int64(r.SysdigTime)
		g.TotalTimeMs += int64(r.TotalTime)
	}
	for _, g := range groups {
		s.Groups = append(s.Groups, *g)
	}
	slices.SortFunc(s.Groups, func(a, b Group) int {
		if c := outcomeRank(a.Outcome) - outcomeRank(b.Outcome); c != 0 {
			return c
		}
		return strings.Compare(a.ResourceType, b.ResourceType)
	})
	return s
}

func outcomeRank(o string) int {
	if i := slices.Index(Outcomes, Outcome(o)); i >= 0 {
		return i
	}
	return len(Outcomes)
}

// Count is the number of requests of an outcome.
func (s Summary) Count(o Outcome) int {
	n := 0
	for _, g := range s.Groups {
		if g.Outcome == string(o) {
			n += g.Requests
		}
	}
	return n
}

// Lines renders the summary for a reader, a line per outcome and resource type:
//
//	SUCCESS    Custom::SysdigProvider  6 (Create 2, Update 2, Delete 2): 9 Sysdig calls, 0 throttled, 41 ms at Sysdig
func (s Summary) Lines() []string {
	width := 0
	for _, g := range s.Groups {
		width = max(width, len(g.ResourceType))
	}
	out := make([]string, 0, len(s.Groups)+1)
	for _, g := range s.Groups {
		var types []string
		for _, t := range []string{"Create", "Update", "Delete"} {
			if n := g.ByRequestType[t]; n > 0 {
				types = append(types, fmt.Sprintf("%s %d", t, n))
			}
		}
		var others []string
		for t, n := range g.ByRequestType {
			if t != "Create" && t != "Update" && t != "Delete" {
				others = append(others, fmt.Sprintf("%s %d", t, n))
			}
		}
		slices.Sort(others)
		types = append(types, others...)
		out = append(out, fmt.Sprintf("%-9s  %-*s  %d (%s): %d Sysdig calls, %d throttled, %d ms at Sysdig",
			g.Outcome, width, g.ResourceType, g.Requests, strings.Join(types, ", "), g.SysdigCalls, g.ThrottledCalls, g.SysdigTimeMs))
	}
	if s.Invalid > 0 {
		out = append(out, fmt.Sprintf("%d lines are not valid EMF records: CloudWatch would drop their metrics", s.Invalid))
	}
	return out
}
