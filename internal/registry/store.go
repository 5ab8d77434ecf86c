package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of *dynamodb.Client the store uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// ErrNotHeld is returned by MarkRemoved when the table holds no active record of the key
// for the provider id given: another id, no record, or one already removed.
var ErrNotHeld = errors.New("the registry holds no active record of this provider for this stack resource")

// Store keeps registrations in one DynamoDB table (partition key StackId, sort key
// LogicalResourceId). Each method is one DynamoDB call, except List (one Scan per page).
type Store struct {
	client   DynamoDBAPI
	table    string
	pageSize int32
	maxPages int
}

// Option configures a Store.
type Option func(*Store)

// WithPageSize sets how many items each Scan page of List asks for (0: DynamoDB's 1 MB
// pages).
func WithPageSize(n int32) Option { return func(s *Store) { s.pageSize = n } }

// DefaultMaxPages bounds List: at 1 MB a page, far beyond any Organization's registrations.
const DefaultMaxPages = 100_000

// New returns the store in table.
func New(client DynamoDBAPI, table string, opts ...Option) *Store {
	s := &Store{client: client, table: table, maxPages: DefaultMaxPages}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// CreateTableInput is the table as the deployer stack creates it (without the encryption,
// point-in-time recovery and billing details only AWS applies), for local runs and tests.
func CreateTableInput(table string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrStackID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrLogicalResourceID), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrStackID), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrLogicalResourceID), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

func (k Key) item() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrStackID:           &types.AttributeValueMemberS{Value: k.StackID},
		AttrLogicalResourceID: &types.AttributeValueMemberS{Value: k.LogicalResourceID},
	}
}

// String names the key in errors and logs.
func (k Key) String() string { return k.StackID + " " + k.LogicalResourceID }

// Get reads the record of k (strongly consistent); ok is false when there is none.
func (s *Store) Get(ctx context.Context, k Key) (Record, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            k.item(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("read the registration of %s in DynamoDB table %s: %w", k, s.table, err)
	}
	if len(out.Item) == 0 {
		return Record{}, false, nil
	}
	r, err := Decode(out.Item)
	if err != nil {
		return Record{}, false, fmt.Errorf("registration of %s in DynamoDB table %s: %w", k, s.table, err)
	}
	return r, true, nil
}

// Put writes r whole, replacing what the key held. It refuses a record that Decode would
// refuse, so that nothing the store writes is unreadable.
func (s *Store) Put(ctx context.Context, r Record) error {
	item := Encode(r)
	if _, err := Decode(item); err != nil {
		return fmt.Errorf("record the registration of %s: %w", r.Key, err)
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("record the registration of %s (provider %s) in DynamoDB table %s: %w", r.Key, r.ProviderID, s.table, err)
	}
	return nil
}

// MarkRemoved marks the record of k removed at at, only if it is active and holds
// providerID (else an error wrapping ErrNotHeld).
func (s *Store) MarkRemoved(ctx context.Context, k Key, providerID string, at time.Time) error {
	ts := &types.AttributeValueMemberS{Value: formatTime(at)}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 k.item(),
		UpdateExpression:    aws.String("SET #state = :removed, #removedAt = :at, #updatedAt = :at"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND #provider = :id AND #state = :active"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrStackID, "#provider": AttrProviderID, "#state": AttrState,
			"#removedAt": AttrRemovedAt, "#updatedAt": AttrUpdatedAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":removed": &types.AttributeValueMemberS{Value: string(StateRemoved)},
			":active":  &types.AttributeValueMemberS{Value: string(StateActive)},
			":id":      &types.AttributeValueMemberS{Value: providerID},
			":at":      ts,
		},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("mark provider %s of %s removed in DynamoDB table %s: %w", providerID, k, s.table, ErrNotHeld)
	}
	if err != nil {
		return fmt.Errorf("mark provider %s of %s removed in DynamoDB table %s: %w", providerID, k, s.table, err)
	}
	return nil
}

// List calls fn with every record in the table, a Scan page at a time (strongly
// consistent). It stops at the first error fn returns, or at the first record it cannot
// decode.
func (s *Store) List(ctx context.Context, fn func(Record) error) error {
	in := &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)}
	if s.pageSize > 0 {
		in.Limit = aws.Int32(s.pageSize)
	}
	for page := 0; page < s.maxPages; page++ {
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("list the registrations in DynamoDB table %s (page %d): %w", s.table, page+1, err)
		}
		for _, item := range out.Items {
			r, err := Decode(item)
			if err != nil {
				return fmt.Errorf("list the registrations in DynamoDB table %s: %w", s.table, err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return fmt.Errorf("list the registrations in DynamoDB table %s: more than %d pages", s.table, s.maxPages)
}
