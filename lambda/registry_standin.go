package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sysdig-aws-connect/internal/orgreport"
	"sysdig-aws-connect/internal/registry"
)

// MERGE NOTE (i15-schedule): a stand-in for i14-registry's registry.Store, which this
// branch does not have. At merge, delete this file and make newRegistryReader return
// registry.New(client, table) (its List is the same Scan, with the strict decoder).

// maxRegistryPages bounds the scan (1 MB pages: far beyond any organization).
const maxRegistryPages = 10000

type registryReader struct {
	client *dynamodb.Client
	table  string
}

func newRegistryReader(client *dynamodb.Client, table string) orgreport.Registry {
	return &registryReader{client: client, table: table}
}

// List scans the registry of record, strongly consistent, a page at a time.
func (r *registryReader) List(ctx context.Context, fn func(registry.Record) error) error {
	in := &dynamodb.ScanInput{TableName: aws.String(r.table), ConsistentRead: aws.Bool(true)}
	for page := 0; page < maxRegistryPages; page++ {
		out, err := r.client.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("list the registrations in DynamoDB table %s: %w", r.table, err)
		}
		for _, item := range out.Items {
			if err := fn(decodeRecord(item)); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return fmt.Errorf("list the registrations in DynamoDB table %s: more than %d pages", r.table, maxRegistryPages)
}

func decodeRecord(item map[string]types.AttributeValue) registry.Record {
	s := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	at := func(k string) time.Time { t, _ := time.Parse(time.RFC3339, s(k)); return t }
	r := registry.Record{Key: registry.Key{StackID: s(registry.AttrStackID), LogicalResourceID: s(registry.AttrLogicalResourceID)},
		Account: s(registry.AttrAccount), Region: s(registry.AttrRegion), RoleARN: s(registry.AttrRoleARN), ProviderID: s(registry.AttrProviderID),
		API: s(registry.AttrAPI), SysdigURL: s(registry.AttrSysdigURL), Alias: s(registry.AttrAlias), Origin: registry.Origin(s(registry.AttrOrigin)),
		State: registry.State(s(registry.AttrState)), CreatedAt: at(registry.AttrCreatedAt), UpdatedAt: at(registry.AttrUpdatedAt), LastStatus: s(registry.AttrLastStatus)}
	if l, ok := item[registry.AttrRegions].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				r.Regions = append(r.Regions, sv.Value)
			}
		}
	}
	return r
}
