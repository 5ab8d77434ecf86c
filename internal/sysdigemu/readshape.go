package sysdigemu

// The shape of the read-by-id answer (GET /api/providers/{id}, /api/v2/providers/{id}):
// no Sysdig source documents it (docs/sysdig-api.md marks it unverified), so the emulator
// can leave the role out of it, and the registrar's ownership checks are tested against
// both shapes.

// WithoutRoleInReadAnswers leaves the role (v1 credentials.role, v2 credentials.roleName
// and accountId) out of the read-by-id answer.
func WithoutRoleInReadAnswers() Option { return func(s *Server) { s.noReadRole = true } }

// SetRoleInReadAnswers switches, while the emulator runs, whether the read-by-id answer
// carries the role.
func (s *Server) SetRoleInReadAnswers(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noReadRole = !on
}

// readAnswer is the provider as the read by id answers it. The caller holds s.mu.
func (s *Server) readAnswer(v string, p *provider) map[string]any {
	w := wire(v, p)
	if s.noReadRole {
		if c, ok := w["credentials"].(map[string]any); ok {
			delete(c, "role")
			delete(c, "roleName")
			delete(c, "accountId")
		}
	}
	return w
}
