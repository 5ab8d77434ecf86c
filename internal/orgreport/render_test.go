package orgreport

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func renderSampleReport() *Report {
	r := &Report{Stack: "s", StackSet: "s-members", Rows: []Row{
		{AccountID: acct(1), AccountName: "prod", Verdict: VerdictOK, Detail: "fine"},
		{AccountID: acct(2), AccountName: "=HYPERLINK(\"x\")", Verdict: VerdictFailed, Detail: "line\nbreak\tand tab", Fix: "aws cloudformation update-stack-instances"},
	}}
	r.Count()
	return r
}

// TestCSVHeaderIsTheJSONNames keeps the CSV header and the JSON fields one list, in order.
func TestCSVHeaderIsTheJSONNames(t *testing.T) {
	var names []string
	rt := reflect.TypeOf(Row{})
	for i := range rt.NumField() {
		if tag := rt.Field(i).Tag.Get("json"); tag != "" {
			names = append(names, strings.Split(tag, ",")[0])
		}
	}
	if !reflect.DeepEqual(names, Header) {
		t.Fatalf("Header %v, JSON names %v", Header, names)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, renderSampleReport()); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 3 || !reflect.DeepEqual(recs[0], Header) {
		t.Fatalf("csv = %v, %v", recs, err)
	}
	if recs[2][1] != `'=HYPERLINK("x")` || recs[2][9] != "FAILED" {
		t.Fatalf("row = %v", recs[2])
	}
}

func TestWriteJSONAndTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, renderSampleReport()); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Rows) != 2 || back.Counts[VerdictFailed] != 1 || back.Counts[VerdictUnknown] != 0 {
		t.Fatalf("json round trip: %+v %v", back, err)
	}
	buf.Reset()
	if err := WriteTable(&buf, renderSampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"ACCOUNT", "VERDICT", "line break and tab", "Fixes:", "FAILED " + acct(2) + ":\n    aws cloudformation update-stack-instances",
		"2 accounts: 1 OK, 0 PENDING, 1 FAILED, 0 MISSING, 0 ORPHAN, 0 DRIFT, 0 UNHEALTHY, 0 UNKNOWN"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
}
