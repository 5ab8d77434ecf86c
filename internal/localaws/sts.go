package localaws

import (
	"net/url"
	"sync"
)

// STS is a stand-in for AWS STS's GetCallerIdentity (the query protocol), so tools that
// ask "who am I" (sysdig-connect whoami, check, register without --role-arn) run locally.
// It answers one identity, settable with SetIdentity.
type STS struct {
	*QueryService

	mu      sync.Mutex
	account string
	arn     string
	userID  string
}

// NewSTS answers GetCallerIdentity with the given account and principal ARN.
func NewSTS(accountID, principalARN string) *STS {
	s := &STS{account: accountID, arn: principalARN, userID: "AIDALOCALSTANDIN0001"}
	s.QueryService = &QueryService{
		SigningName: "sts",
		XMLNS:       "https://sts.amazonaws.com/doc/2011-06-15/",
		Actions:     map[string]QueryAction{"GetCallerIdentity": s.getCallerIdentity},
	}
	return s
}

// SetIdentity changes the identity GetCallerIdentity answers.
func (s *STS) SetIdentity(accountID, principalARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account, s.arn = accountID, principalARN
}

// Start serves the stand-in on a free loopback port.
func (s *STS) Start() (url string, stop func()) { return start(s) }

func (s *STS) getCallerIdentity(url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return struct {
		Account string
		Arn     string
		UserID  string `xml:"UserId"`
	}{s.account, s.arn, s.userID}, nil
}
