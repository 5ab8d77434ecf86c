package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/testutil"
)

// TestAllowListsFailClosed: with STACKSET_NAME set (a registrar serving member
// accounts), an empty or missing allow-list stops the function at start, naming the
// variable, and every request is then answered FAILED naming it, with no Sysdig call.
// Without STACKSET_NAME an empty list still means "any" (single-account functions
// deployed by other means).
func TestAllowListsFailClosed(t *testing.T) {
	for _, variable := range []string{envAllowedAPIURLs, envAllowedSecretIDs} {
		for name, value := range map[string]*string{"missing": nil, "empty": ptr(""), "only commas and spaces": ptr(" , ,")} {
			t.Run(variable+" "+name, func(t *testing.T) {
				w := newWorld(t)
				t.Setenv(envStackSetName, "SysdigAwsConnectOrg-members")
				t.Setenv(envStackSetCallAs, "SELF")
				t.Setenv(envAllowedAPIURLs, w.sysURL)
				t.Setenv(envAllowedSecretIDs, secretName)
				t.Setenv(variable, "")
				if value != nil {
					t.Setenv(variable, *value)
				}
				logs := &testutil.SyncBuffer{}
				logger := slog.New(slog.NewJSONHandler(logs, nil))
				_, err := newFunction(context.Background(), logger)
				var ce *configError
				if !errors.As(err, &ce) || ce.variable != variable || !strings.Contains(err.Error(), variable+" is empty or missing") {
					t.Fatalf("start: %v, want a configuration error naming %s", err, variable)
				}
				fn, err := unstartableFunction(logger, err)
				if err != nil {
					t.Fatal(err)
				}
				w.fn = fn
				calls := len(w.sysdig.Requests())
				for _, c := range []call{
					{requestType: "Create", props: w.props()},
					{requestType: "Update", physicalID: "sysdig-provider|v1|" + w.sysURL + "|1|" + roleARN, props: w.props(), old: w.props()},
					{requestType: "Delete", sns: true, physicalID: "sysdig-provider|v1|" + w.sysURL + "|1|" + roleARN, props: w.props()},
				} {
					resp, _ := w.invoke(c)
					if resp.Status != "FAILED" || !strings.Contains(resp.Reason, "cannot start") || !strings.Contains(resp.Reason, variable) {
						t.Fatalf("%s answered %s %q; want FAILED naming %s", c.requestType, resp.Status, resp.Reason, variable)
					}
				}
				if n := len(w.sysdig.Requests()) - calls; n != 0 {
					t.Fatalf("%d Sysdig calls from a function that could not start", n)
				}
			})
		}
	}
	t.Run("without a StackSet an empty list allows any", func(t *testing.T) {
		newWorldEnv(t, map[string]string{envAllowedAPIURLs: "", envAllowedSecretIDs: ""})
	})
}

func ptr(s string) *string { return &s }
