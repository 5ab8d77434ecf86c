package registrar

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// ProviderApi is a claim of the request. That v1 and v2 address one store of providers is
// ASSUMED (docs/sysdig-api.md): were it wrong, the registry's v1 id would name another
// provider through v2, here another account's. An Update that switches ProviderApi reads
// the id through the new version first and never writes a provider the read does not
// prove this stack's.
func TestRegistryUpdateSwitchingAPIProvesTheIDFirst(t *testing.T) {
	var mu sync.Mutex
	var v2Writes []string
	var id string
	other := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			target := id
			mu.Unlock()
			if target != "" && r.URL.Path == "/api/v2/providers/"+target {
				switch r.Method {
				case http.MethodGet:
					_, _ = fmt.Fprintf(w, `{"provider":{"id":%s,"platform":"AWS","alias":"b","credentials":{"accountId":"210987654321","roleName":"sysdig-role"},"status":"configured"}}`, target)
				default:
					mu.Lock()
					v2Writes = append(v2Writes, r.Method+" "+r.URL.Path)
					mu.Unlock()
					w.WriteHeader(http.StatusOK)
					_, _ = fmt.Fprintf(w, `{"provider":{"id":%s,"platform":"AWS","alias":"b","credentials":{"accountId":"210987654321","roleName":"sysdig-role"},"status":"configured"}}`, target)
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, other)
	e.useRegistry()
	old := e.props(PropProviderAPI, "v1")
	created := e.mustCreate(old)
	mu.Lock()
	id = refOf(t, created).ID
	mu.Unlock()
	_, err := e.update(created.PhysicalResourceID, e.props(PropProviderAPI, "v2", PropAlias, "via-v2"), old)
	mu.Lock()
	defer mu.Unlock()
	if len(v2Writes) != 0 {
		t.Fatalf("the Update wrote %v, a provider of account 210987654321 through v2 (err %v)", v2Writes, err)
	}
	t.Logf("update: %v", err)
	if err != nil && !strings.Contains(err.Error(), "role") {
		t.Fatalf("err = %v", err)
	}
}
