package sysdig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

const (
	// CloudInformationPath answers the external id and Sysdig's AWS account
	// on newer tenants (TF module README).
	CloudInformationPath = "/api/v2/providers/info/awsCloudInformation"
	// UsersMePath answers the external id at .user.customer.externalId (SEED).
	UsersMePath = "/api/users/me"
)

// ExternalIDInfo is the tenant's external ID for the IAM trust policy.
type ExternalIDInfo struct {
	ExternalID string
	// SysdigAWSAccountID is Sysdig's AWS account for this region when the
	// API says so (awsCloudInformation only); empty otherwise.
	SysdigAWSAccountID string
	// Source is the API path the answer came from.
	Source string
}

// externalIDRE is what IAM accepts as sts:ExternalId: 2 to 1224 characters of
// [\w+=,.@:/-].
var externalIDRE = regexp.MustCompile(`^[\w+=,.@:/-]+$`)

// externalID is ExternalID before its error is sealed (see sealed.go).
func (c *Client) externalID(ctx context.Context) (ExternalIDInfo, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: CloudInformationPath})
	if err == nil {
		info, derr := DecodeExternalID(CloudInformationPath, resp.body)
		if derr == nil {
			return info, nil
		}
		c.logger.Warn("sysdig: no usable external id from cloud information, asking users/me", "error", c.scrub(derr.Error()))
	} else {
		switch statusOf(err) {
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			c.logger.Debug("sysdig: cloud information endpoint missing, asking users/me", "status", statusOf(err))
		default:
			return ExternalIDInfo{}, err
		}
	}
	resp, err = c.do(ctx, request{method: http.MethodGet, path: UsersMePath})
	if err != nil {
		return ExternalIDInfo{}, err
	}
	info, err := DecodeExternalID(UsersMePath, resp.body)
	if err != nil {
		return ExternalIDInfo{}, fmt.Errorf("sysdig: GET %s: %w", UsersMePath, err)
	}
	return info, nil
}

// DecodeExternalID reads the answer of CloudInformationPath
// ({"externalId","awsSystemAccountId"}) or UsersMePath
// ({"user":{"customer":{"externalId"}}}); path says which.
func DecodeExternalID(path string, body []byte) (ExternalIDInfo, error) {
	info := ExternalIDInfo{Source: path}
	switch path {
	case CloudInformationPath:
		var v struct {
			ExternalID json.RawMessage `json:"externalId"`
			Account    json.RawMessage `json:"awsSystemAccountId"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return ExternalIDInfo{}, fmt.Errorf("sysdig: the cloud information answer is not the expected JSON {\"externalId\":…}: %w", jsonProblem(err))
		}
		info.ExternalID = decodeScalar(v.ExternalID)
		if acct := strings.TrimSpace(decodeScalar(v.Account)); acct != "" {
			if !accountIDRE.MatchString(acct) {
				return ExternalIDInfo{}, fmt.Errorf("sysdig: the cloud information answer's awsSystemAccountId is %d characters long, not a 12-digit AWS account id", len(acct))
			}
			info.SysdigAWSAccountID = acct
		}
	case UsersMePath:
		var v struct {
			User *struct {
				Customer *struct {
					ExternalID json.RawMessage `json:"externalId"`
				} `json:"customer"`
			} `json:"user"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return ExternalIDInfo{}, fmt.Errorf("sysdig: the users/me answer is not the expected JSON {\"user\":{\"customer\":{\"externalId\":…}}}: %w", jsonProblem(err))
		}
		if v.User == nil || v.User.Customer == nil {
			return ExternalIDInfo{}, errors.New("sysdig: the users/me answer has no user.customer object: is the token a user's Sysdig Monitor API token?")
		}
		info.ExternalID = decodeScalar(v.User.Customer.ExternalID)
	default:
		//msg:internal a programming error: only the two paths are asked
		return ExternalIDInfo{}, fmt.Errorf("sysdig: no external id decoder for path %q: expected %s or %s", capText(printable(path), 100), CloudInformationPath, UsersMePath)
	}
	info.ExternalID = strings.TrimSpace(info.ExternalID)
	if info.ExternalID == "" {
		return ExternalIDInfo{}, fmt.Errorf("sysdig: GET %s returned no external id: the tenant may not have AWS role delegation enabled; ask Sysdig support", path)
	}
	if n := len(info.ExternalID); n < 2 || n > 1224 || !externalIDRE.MatchString(info.ExternalID) {
		return ExternalIDInfo{}, fmt.Errorf("sysdig: GET %s returned an external id of %d bytes that IAM would not accept (expected 2 to 1224 characters of letters, digits and +=,.@:/-_)", path, len(info.ExternalID))
	}
	return info, nil
}
