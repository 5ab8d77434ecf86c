package sysdigemu

// SetStatus changes what the emulator reports as a provider's status and last message
// (v1's status.status and status.lastProviderMessages), as Sysdig does when it cannot use
// the role; it reports whether the provider exists.
func (s *Server) SetStatus(id, status, message string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.providers[id]
	if ok {
		p.Status, p.Message = status, message
	}
	return ok
}

// providerMessages is v1's status.lastProviderMessages: Sysdig's messages about the
// provider, oldest first (ASSUMED shape: objects with a "message").
func providerMessages(p *provider) []any {
	if p.Message == "" {
		return []any{}
	}
	return []any{map[string]any{"message": p.Message}}
}
