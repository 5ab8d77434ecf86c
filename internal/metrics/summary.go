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

// Lines renders the summary as a table for a reader, a row per outcome and resource
// type; requests counts Create/Update/Delete (and other types, when any):
//
//	outcome   resource type           requests (C/U/D)  Sysdig calls  throttled  Sysdig ms
//	SUCCESS   Custom::SysdigProvider  6 (1/2/3)                    8          0         11
func (s Summary) Lines() []string {
	width := len("resource type")
	for _, g := range s.Groups {
		width = max(width, len(g.ResourceType))
	}
	row := func(outcome, resource, requests, calls, throttled, ms string) string {
		return fmt.Sprintf("%-9s %-*s  %-16s  %12s  %9s  %9s", outcome, width, resource, requests, calls, throttled, ms)
	}
	out := []string{row("outcome", "resource type", "requests (C/U/D)", "Sysdig calls", "throttled", "Sysdig ms")}
	for _, g := range s.Groups {
		requests := fmt.Sprintf("%d (%d/%d/%d)", g.Requests, g.ByRequestType["Create"], g.ByRequestType["Update"], g.ByRequestType["Delete"])
		if other := g.Requests - g.ByRequestType["Create"] - g.ByRequestType["Update"] - g.ByRequestType["Delete"]; other > 0 {
			requests += fmt.Sprintf(" +%d other", other)
		}
		out = append(out, row(g.Outcome, g.ResourceType, requests, fmt.Sprint(g.SysdigCalls), fmt.Sprint(g.ThrottledCalls), fmt.Sprint(g.SysdigTimeMs)))
	}
	if s.Invalid > 0 {
		out = append(out, fmt.Sprintf("%d lines are not valid EMF records: CloudWatch would drop their metrics", s.Invalid))
	}
	return out
}
