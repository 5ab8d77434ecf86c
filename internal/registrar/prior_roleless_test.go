package registrar

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

var byIDPath = regexp.MustCompile(`^/api/providers/([0-9]+)$`)

// A Create taken over from a dead delivery reads the provider that delivery recorded. Ids
// can be reused: when Sysdig's answer names no role, nothing proves the id still holds
// the role this request registered, so it is not taken as this request's (a missing field
// is never a match), nor when it describes another id; and the registry never records it as created by the stack, which
// would let a later Delete remove it without a read.
func TestCreateTakenOverDoesNotResumeOnAnUnprovedAnswer(t *testing.T) {
	answers := map[string]func(id string) string{
		"no role": func(id string) string {
			return fmt.Sprintf(`{"provider":{"id":%s,"alias":"someone","status":{"status":"configured"}}}`, id)
		},
		"another id, this request's role": func(string) string {
			return fmt.Sprintf(`{"provider":{"id":999,"alias":"someone","credentials":{"role":%q},"status":{"status":"configured"}}}`, roleARN)
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) { takeOverWithAnswer(t, answer) })
	}
}

func takeOverWithAnswer(t *testing.T, answer func(id string) string) {
	odd := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if m := byIDPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
				_, _ = fmt.Fprint(w, answer(m[1]))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, odd)
	store := e.useRegistry()
	// The id the dead delivery recorded now holds another registration.
	otherID := e.emu.Seed(sysdig.ProviderSpec{RoleARN: role2ARN})
	prior := ProviderRef{API: sysdig.V1, BaseURL: e.url, ID: otherID, RoleARN: roleARN}.String()

	resp := createTakenOver(t, e, prior, e.props())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if resp.PhysicalResourceID == prior {
		t.Fatalf("answered %s with the prior id, which Sysdig's answer does not prove this request's", resp.Status)
	}
	if rec, found, err := store.Get(ctx, registry.Key{StackID: stackID, LogicalResourceID: "SysdigProvider"}); err != nil || (found && rec.ProviderID == otherID && rec.Origin == registry.OriginCreated) {
		t.Fatalf("registry holds %+v (%v): the other registration as this stack's", rec, err)
	}
	// Whatever the Create answered, its stack's Delete leaves the other registration.
	if _, err := e.delete(resp.PhysicalResourceID, e.props()); err != nil {
		t.Fatal(err)
	}
	for _, p := range e.providers() {
		if p.ID == otherID {
			return
		}
	}
	t.Fatalf("provider %s (role %s) was removed", otherID, role2ARN)
}
