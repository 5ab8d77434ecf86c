package sysdigemu

import (
	"encoding/json"
	"io"
	"net/http"

	"sysdig-aws-connect/internal/rolearn"
	"sysdig-aws-connect/internal/sysdig"
)

// serveAdmin answers /_emulator/ routes.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	adminErr := func(status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_emulator/providers":
		writeJSON(w, http.StatusOK, s.Providers())
	case "GET /_emulator/requests":
		writeJSON(w, http.StatusOK, s.Requests())
	case "POST /_emulator/faults":
		var f Fault
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			adminErr(http.StatusBadRequest, "sysdigemu: fault body: "+err.Error()+` (expected {"Method":"POST","PathPrefix":"/api/providers","Statuses":[500]} and the other Fault fields)`)
			return
		}
		if err := s.inject(f); err != nil {
			adminErr(http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "POST /_emulator/seed":
		var spec sysdig.ProviderSpec
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			adminErr(http.StatusBadRequest, "sysdigemu: seed body: "+err.Error()+` (expected {"RoleARN":"arn:aws:iam::123456789012:role/x","Alias":"…","Regions":["us-east-1"]})`)
			return
		}
		if _, err := rolearn.Parse(spec.RoleARN); err != nil {
			adminErr(http.StatusBadRequest, "sysdigemu: seed: RoleARN must be an IAM role ARN")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": s.Seed(spec)})
	case "POST /_emulator/reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		adminErr(http.StatusNotFound, "sysdigemu: unknown admin route "+route+"; see the package documentation")
	}
}
