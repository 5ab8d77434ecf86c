// Package tokensource reads the Sysdig Monitor API token from AWS Secrets Manager.
//
// The SecretString is either the raw token or a JSON object whose "token" field holds it,
// so the same secret can carry other fields (a note, the Sysdig region) if an operator wants.
package tokensource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// GetSecretValueAPI is the part of the Secrets Manager client the source needs.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsManager reads tokens from Secrets Manager.
type SecretsManager struct {
	api GetSecretValueAPI
}

// NewSecretsManager returns a token source backed by api (normally *secretsmanager.Client,
// whose endpoint follows AWS_ENDPOINT_URL_SECRETS_MANAGER).
func NewSecretsManager(api GetSecretValueAPI) *SecretsManager { return &SecretsManager{api: api} }

// maxTokenBytes bounds a token; Sysdig tokens are UUIDs, so anything this long is a mistake.
const maxTokenBytes = 4096

// Token returns the token held by the secret named secretID (a name or an ARN).
func (s *SecretsManager) Token(ctx context.Context, secretID string) (string, error) {
	if strings.TrimSpace(secretID) == "" {
		return "", errors.New("ApiTokenSecretId is empty: give the name or ARN of the secret holding the Sysdig API token")
	}
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return "", describe(secretID, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s holds binary data: store the Sysdig API token as a SecretString", secretID)
	}
	token, err := ParseSecret(*out.SecretString)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", secretID, err)
	}
	return token, nil
}

// describe turns a Secrets Manager error into one that says what to change.
func describe(secretID string, err error) error {
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return fmt.Errorf("secret %s not found: check ApiTokenSecretId (a name or ARN in this region): %w", secretID, err)
	}
	var decrypt *types.DecryptionFailure
	if errors.As(err, &decrypt) {
		return fmt.Errorf("cannot decrypt secret %s: allow the function's role kms:Decrypt on the secret's KMS key: %w", secretID, err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "AccessDeniedException", "AccessDenied":
			return fmt.Errorf("access denied to secret %s: allow the function's role secretsmanager:GetSecretValue on it (and kms:Decrypt on its key): %w", secretID, err)
		case "ThrottlingException", "TooManyRequestsException":
			return fmt.Errorf("Secrets Manager throttled reading secret %s after retries; retry the stack operation: %w", secretID, err)
		}
	}
	return fmt.Errorf("read secret %s: %w", secretID, err)
}

// ParseSecret extracts the token from a SecretString: the raw token, or a JSON object with
// a "token" string field.
func ParseSecret(secret string) (string, error) {
	s := strings.TrimSpace(secret)
	if s == "" {
		return "", errors.New("the secret is empty: store the Sysdig Monitor API token in it")
	}
	if strings.HasPrefix(s, "{") {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			return "", errors.New(`the secret starts with "{" but is not valid JSON: store the raw token or {"token":"…"}`)
		}
		raw, ok := doc["token"]
		if !ok {
			return "", errors.New(`the secret is JSON without a "token" field: store {"token":"…"} or the raw token`)
		}
		var token string
		if err := json.Unmarshal(raw, &token); err != nil {
			return "", errors.New(`the secret's "token" field is not a string`)
		}
		s = strings.TrimSpace(token)
		if s == "" {
			return "", errors.New(`the secret's "token" field is empty`)
		}
	}
	if len(s) > maxTokenBytes {
		return "", fmt.Errorf("the token is %d bytes long, more than %d: is the right value stored?", len(s), maxTokenBytes)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII {
			return "", errors.New("the token contains spaces, control or non-ASCII characters: store only the token")
		}
	}
	return s, nil
}
