package dedupe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of *dynamodb.Client the store uses.
type DynamoDBAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// DynamoDB is a Store in one DynamoDB table. A first delivery costs two writes (Acquire,
// Answer) and one per physical id its handler records (Progress); a duplicate one conditional write that fails, plus a consistent read where the
// failure does not carry the item (DynamoDB returns it; dynalite does not).
type DynamoDB struct {
	client DynamoDBAPI
	table  string
}

// NewDynamoDB returns the store in table.
func NewDynamoDB(client DynamoDBAPI, table string) *DynamoDB {
	return &DynamoDB{client: client, table: table}
}

// CreateTableInput is the table as the deployer stack creates it (without TTL, encryption
// and billing details that only AWS applies), for local runs and tests.
func CreateTableInput(table string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(AttrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(AttrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}
}

// maxAcquireRounds bounds Acquire when the record vanishes between the failed write and
// the read (TTL deletion): each round is one write and at most one read.
const maxAcquireRounds = 3

// Acquire implements Store.
func (d *DynamoDB) Acquire(ctx context.Context, rec Record, now time.Time) (Record, bool, error) {
	item := map[string]types.AttributeValue{
		AttrKey:     &types.AttributeValueMemberS{Value: rec.Key.ID()},
		attrState:   &types.AttributeValueMemberS{Value: string(StateInProgress)},
		attrOwner:   &types.AttributeValueMemberS{Value: rec.Owner},
		attrLease:   millis(rec.LeaseUntil),
		attrURLHash: &types.AttributeValueMemberS{Value: rec.ResponseURLHash},
		AttrExpires: &types.AttributeValueMemberN{Value: strconv.FormatInt(rec.Expires.Unix(), 10)},
		attrStackID: &types.AttributeValueMemberS{Value: cut(rec.Key.StackID)},
		attrLogical: &types.AttributeValueMemberS{Value: cut(rec.Key.LogicalResourceID)},
		attrRequest: &types.AttributeValueMemberS{Value: cut(rec.Key.RequestID)},
	}
	in := &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item:      item,
		// New; or in progress for the same ResponseURL and either ours (a retried write
		// whose first answer was lost) or with a lease that has run out. A delivery naming
		// another ResponseURL never takes a request over.
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR (#state = :inprogress AND #url = :url AND (#owner = :owner OR #lease < :now))"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrKey, "#state": attrState, "#owner": attrOwner, "#lease": attrLease, "#url": attrURLHash,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inprogress": &types.AttributeValueMemberS{Value: string(StateInProgress)},
			":owner":      &types.AttributeValueMemberS{Value: rec.Owner},
			":now":        millis(now),
			":url":        &types.AttributeValueMemberS{Value: rec.ResponseURLHash},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		// The record taken over, if any: what its delivery recorded as done.
		ReturnValues: types.ReturnValueAllOld,
	}
	for range maxAcquireRounds {
		out, err := d.client.PutItem(ctx, in)
		if err == nil {
			rec.State = StateInProgress
			rec.PhysicalID = ""
			if old, ok := out.Attributes[attrProgress].(*types.AttributeValueMemberS); ok && old.Value != "" {
				if prev, ok := out.Attributes[attrOwner].(*types.AttributeValueMemberS); !ok || prev.Value != rec.Owner {
					rec.PhysicalID = old.Value
				}
			}
			return rec, true, nil
		}
		var failed *types.ConditionalCheckFailedException
		if !errors.As(err, &failed) {
			return Record{}, false, fmt.Errorf("record request %s in DynamoDB table %s: %w", rec.Key.RequestID, d.table, err)
		}
		if len(failed.Item) > 0 {
			cur, err := decode(failed.Item)
			return cur, false, err
		}
		cur, ok, err := d.Get(ctx, rec.Key)
		if err != nil || ok {
			return cur, false, err
		}
	}
	return Record{}, false, fmt.Errorf("record request %s in DynamoDB table %s: the record kept changing (%d attempts)", rec.Key.RequestID, d.table, maxAcquireRounds)
}

// Progress implements Store: one conditional UpdateItem.
func (d *DynamoDB) Progress(ctx context.Context, key Key, owner, physicalID string) error {
	// Only while this delivery still works on the request: a delivery that lost its
	// lease must not overwrite what the one that took over recorded.
	return d.updateOwned(ctx, key, "record the progress of", "SET #progress = :id", "#owner = :owner AND #state = :inprogress",
		map[string]string{"#progress": attrProgress, "#owner": attrOwner, "#state": attrState},
		map[string]types.AttributeValue{
			":id":         &types.AttributeValueMemberS{Value: physicalID},
			":owner":      &types.AttributeValueMemberS{Value: owner},
			":inprogress": &types.AttributeValueMemberS{Value: string(StateInProgress)},
		})
}

// Answer implements Store.
func (d *DynamoDB) Answer(ctx context.Context, key Key, owner string, answer []byte) error {
	// Ours and in progress; or already answered by us with this very answer: the SDK
	// retries a write whose response was lost, and that retry must not read as a lost lease.
	return d.updateOwned(ctx, key, "store the answer to", "SET #state = :answered, #answer = :answer",
		"#owner = :owner AND (#state = :inprogress OR (#state = :answered AND #answer = :answer))",
		map[string]string{"#state": attrState, "#answer": attrAnswer, "#owner": attrOwner},
		map[string]types.AttributeValue{
			":answered":   &types.AttributeValueMemberS{Value: string(StateAnswered)},
			":inprogress": &types.AttributeValueMemberS{Value: string(StateInProgress)},
			":answer":     &types.AttributeValueMemberB{Value: answer},
			":owner":      &types.AttributeValueMemberS{Value: owner},
		})
}

// updateOwned applies update to key's record when condition (which names the owner) holds;
// a failed condition is ErrLeaseLost, any other error says what (e.g. "store the answer to")
// failed for which request.
func (d *DynamoDB) updateOwned(ctx context.Context, key Key, what, update, condition string,
	names map[string]string, values map[string]types.AttributeValue) error {
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: key.ID()}},
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(condition),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("%s request %s in DynamoDB table %s: %w", what, key.RequestID, d.table, err)
	}
	return nil
}

// Get implements Store.
func (d *DynamoDB) Get(ctx context.Context, key Key) (Record, bool, error) {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: key.ID()}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("read the record of request %s in DynamoDB table %s: %w", key.RequestID, d.table, err)
	}
	if len(out.Item) == 0 {
		return Record{}, false, nil
	}
	rec, err := decode(out.Item)
	return rec, err == nil, err
}

func millis(t time.Time) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

// decode reads a record; a record it cannot read is an error, never a guess.
func decode(item map[string]types.AttributeValue) (Record, error) {
	str := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	num := func(name string) (int64, error) {
		v, ok := item[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0, fmt.Errorf("attribute %s is not a number", name)
		}
		return strconv.ParseInt(v.Value, 10, 64)
	}
	rec := Record{
		Key:             Key{StackID: str(attrStackID), LogicalResourceID: str(attrLogical), RequestID: str(attrRequest)},
		State:           State(str(attrState)),
		Owner:           str(attrOwner),
		ResponseURLHash: str(attrURLHash),
		PhysicalID:      str(attrProgress),
	}
	if rec.State != StateInProgress && rec.State != StateAnswered {
		return Record{}, fmt.Errorf("idempotency record %s has state %q", str(AttrKey), rec.State)
	}
	lease, err := num(attrLease)
	if err != nil {
		return Record{}, fmt.Errorf("idempotency record %s: %w", str(AttrKey), err)
	}
	rec.LeaseUntil = time.UnixMilli(lease)
	if exp, err := num(AttrExpires); err == nil {
		rec.Expires = time.Unix(exp, 0)
	}
	if rec.State == StateAnswered {
		b, ok := item[attrAnswer].(*types.AttributeValueMemberB)
		if !ok || len(b.Value) == 0 {
			return Record{}, fmt.Errorf("idempotency record %s is answered but holds no answer", str(AttrKey))
		}
		rec.Answer = b.Value
	}
	return rec, nil
}
