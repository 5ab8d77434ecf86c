package registrar

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/sysdig"
)

// Sysdig's read by id proves a provider this stack's only when the answer describes that
// very id: an answer for another provider (a proxy's cache, a tenant that ignores the id)
// says nothing of the one the request names, whatever role it carries.
func TestReadByIDAnswerForAnotherID(t *testing.T) {
	for _, op := range []string{"Delete", "Update"} {
		t.Run(op, func(t *testing.T) {
			var ownID string
			wrongAnswer := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if m := byIDPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet && m[1] != ownID {
						// Any other id is answered with this stack's own provider.
						_, _ = fmt.Fprintf(w, `{"provider":{"id":%s,"alias":"mine","credentials":{"role":%q},"status":{"status":"configured"}}}`, ownID, roleARN)
						return
					}
					next.ServeHTTP(w, r)
				})
			}
			e := newEnv(t, wrongAnswer)
			e.useRegistry()
			ownID = e.emu.Seed(sysdig.ProviderSpec{RoleARN: roleARN, Alias: "mine"})
			otherID := e.emu.Seed(sysdig.ProviderSpec{RoleARN: role2ARN, Alias: "other"})
			// A request of a stack with no record naming the other id with this stack's role.
			forged := ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: otherID, RoleARN: roleARN}.String()
			var err error
			if op == "Delete" {
				_, err = e.delete(forged, e.props())
			} else {
				_, err = e.update(forged, e.props(PropAlias, "taken over"), e.props(PropAlias, "mine"))
			}
			for _, p := range e.providers() {
				if p.ID == otherID && (p.Alias != "other" || p.RoleARN != role2ARN) {
					t.Fatalf("%s rewrote provider %s: %+v (err %v)", op, otherID, p, err)
				}
				if p.ID == otherID {
					if op == "Update" && (err == nil || !strings.Contains(err.Error(), "describes provider "+ownID)) {
						t.Fatalf("Update: %v; want a refusal naming the answer's id", err)
					}
					return
				}
			}
			t.Fatalf("%s removed provider %s (err %v)", op, otherID, err)
		})
	}
}
