package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sysdig-aws-connect/internal/localdynamo"
)

// The store is tested against dynalite through the real SDK client; TestMain starts it on
// 127.0.0.1 and every test uses a table of its own.

var server *localdynamo.Server

func TestMain(m *testing.M) { localdynamo.TestMain(m, "registry tests", &server) }

var tables atomic.Int64

// countingClient counts the calls the store makes.
type countingClient struct {
	*dynamodb.Client
	scans atomic.Int64
}

func (c *countingClient) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.scans.Add(1)
	return c.Client.Scan(ctx, in, opts...)
}

func newStore(t *testing.T, opts ...Option) (*Store, *countingClient) {
	t.Helper()
	name := fmt.Sprintf("registry-%d", tables.Add(1))
	if _, err := server.CreateTable(testCtx(t), CreateTableInput(name)); err != nil {
		t.Fatal(err)
	}
	c := &countingClient{Client: server.Client()}
	return New(c, name, opts...), c
}

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)

func rec(account, providerID string) Record {
	return Record{
		Key:        Key{StackID: "arn:aws:cloudformation:eu-west-1:" + account + ":stack/StackSet-x-" + account + "/guid", LogicalResourceID: "SysdigProvider"},
		Account:    account,
		Region:     "eu-west-1",
		RoleARN:    "arn:aws:iam::" + account + ":role/SysdigMonitor",
		ProviderID: providerID,
		API:        "v1",
		SysdigURL:  "https://app.sysdigcloud.com",
		Alias:      "acct-" + account,
		Regions:    []string{"eu-west-1", "us-east-1"},
		Origin:     OriginCreated,
		State:      StateActive,
		CreatedAt:  t0,
		UpdatedAt:  t0,
		LastStatus: "Connected",
	}
}

func TestPutGet(t *testing.T) {
	removed := rec("100000000002", "43")
	removed.State, removed.RemovedAt = StateRemoved, t0.Add(time.Hour)
	bare := rec("100000000003", "44")
	bare.Alias, bare.Regions, bare.LastStatus, bare.Origin = "", nil, "", OriginAdopted
	missingID := rec("100000000004", "")
	removedNoTime := rec("100000000005", "45")
	removedNoTime.State = StateRemoved
	replaced := rec("100000000007", "47")
	replaced.Replaced = []Superseded{{ProviderID: "30", RoleARN: "arn:aws:iam::100000000007:role/Old", API: "v1", SysdigURL: "https://app.sysdigcloud.com", Origin: OriginAdopted}}
	badOrigin := rec("100000000006", "46")
	badOrigin.Origin = "guessed"
	cases := []struct {
		name    string
		put     Record
		wantErr string // from Put; "" means it is written and read back equal
	}{
		{"active with every field", rec("100000000001", "42"), ""},
		{"removed", removed, ""},
		{"optional fields empty", bare, ""},
		{"with a superseded provider", replaced, ""},
		{"no provider id", missingID, "attribute ProviderId is missing"},
		{"removed without a time", removedNoTime, "attribute RemovedAt is missing"},
		{"unknown origin", badOrigin, `attribute Origin is "guessed"`},
	}
	s, _ := newStore(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			err := s.Put(ctx, tc.put)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Put: err = %v, want one saying %q", err, tc.wantErr)
				}
				if _, ok, _ := s.Get(ctx, tc.put.Key); ok {
					t.Fatal("a refused record was written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.Get(ctx, tc.put.Key)
			if err != nil || !ok {
				t.Fatalf("Get: ok=%v err=%v", ok, err)
			}
			if !reflect.DeepEqual(got, tc.put) {
				t.Fatalf("read back %+v\nwant %+v", got, tc.put)
			}
		})
	}
}

func TestGetNone(t *testing.T) {
	s, _ := newStore(t)
	_, ok, err := s.Get(testCtx(t), Key{StackID: "arn:aws:cloudformation:eu-west-1:100000000001:stack/x/y", LogicalResourceID: "P"})
	if ok || err != nil {
		t.Fatalf("ok=%v err=%v, want no record and no error", ok, err)
	}
}

// A record written by something else (a person, an older version) that lacks a required
// attribute is an error when read, never a guess.
func TestGetStrict(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(map[string]types.AttributeValue)
		wantErr string
	}{
		{"no provider id", func(m map[string]types.AttributeValue) { delete(m, AttrProviderID) }, "attribute ProviderId is missing"},
		{"no role", func(m map[string]types.AttributeValue) { delete(m, AttrRoleARN) }, "attribute RoleArn is missing"},
		{"no account", func(m map[string]types.AttributeValue) { delete(m, AttrAccount) }, "attribute Account is missing"},
		{"no state", func(m map[string]types.AttributeValue) { delete(m, AttrState) }, "attribute State is missing"},
		{"provider id a number", func(m map[string]types.AttributeValue) {
			m[AttrProviderID] = &types.AttributeValueMemberN{Value: "42"}
		}, "attribute ProviderId is not a string"},
		{"unknown state", func(m map[string]types.AttributeValue) {
			m[AttrState] = &types.AttributeValueMemberS{Value: "gone"}
		}, `attribute State is "gone"`},
		{"bad time", func(m map[string]types.AttributeValue) {
			m[AttrCreatedAt] = &types.AttributeValueMemberS{Value: "yesterday"}
		}, "attribute CreatedAt is not an RFC 3339 time"},
		{"superseded provider without a role", func(m map[string]types.AttributeValue) {
			m[AttrReplaced] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				AttrProviderID: &types.AttributeValueMemberS{Value: "3"}, AttrAPI: &types.AttributeValueMemberS{Value: "v1"},
				AttrSysdigURL: &types.AttributeValueMemberS{Value: "https://x"}, AttrOrigin: &types.AttributeValueMemberS{Value: "created"},
			}}}}
		}, "attribute Replaced: element 0: attribute RoleArn is missing"},
		{"regions not a list", func(m map[string]types.AttributeValue) {
			m[AttrRegions] = &types.AttributeValueMemberS{Value: "eu-west-1"}
		}, "attribute Regions is not a list"},
	}
	s, c := newStore(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			r := rec(fmt.Sprintf("2000000000%02d", i), "7")
			item := Encode(r)
			tc.edit(item)
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table()), Item: item}); err != nil {
				t.Fatal(err)
			}
			_, ok, err := s.Get(ctx, r.Key)
			if ok || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Get: ok=%v err=%v, want an error saying %q", ok, err, tc.wantErr)
			}
		})
	}
}

func TestMarkRemoved(t *testing.T) {
	removed := rec("100000000003", "9")
	removed.State, removed.RemovedAt = StateRemoved, t0
	cases := []struct {
		name       string
		stored     *Record
		providerID string
		wantErr    error
	}{
		{"the provider the record holds", ptr(rec("100000000001", "9")), "9", nil},
		{"another provider id", ptr(rec("100000000002", "9")), "10", ErrNotHeld},
		{"already removed", &removed, "9", ErrNotHeld},
		{"no record", nil, "9", ErrNotHeld},
	}
	s, _ := newStore(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			key := Key{StackID: fmt.Sprintf("arn:aws:cloudformation:eu-west-1:300000000000:stack/none-%d/g", i), LogicalResourceID: "P"}
			var before Record
			if tc.stored != nil {
				before = *tc.stored
				key = before.Key
				if err := s.Put(ctx, before); err != nil {
					t.Fatal(err)
				}
			}
			at := t0.Add(2 * time.Hour)
			err := s.MarkRemoved(ctx, key, tc.providerID, at)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("MarkRemoved: %v, want %v", err, tc.wantErr)
			}
			got, ok, gerr := s.Get(ctx, key)
			if gerr != nil {
				t.Fatal(gerr)
			}
			switch {
			case tc.stored == nil:
				if ok {
					t.Fatal("MarkRemoved created a record")
				}
			case tc.wantErr != nil:
				if !reflect.DeepEqual(got, before) {
					t.Fatalf("a refused MarkRemoved changed the record: %+v", got)
				}
			default:
				want := before
				want.State, want.RemovedAt, want.UpdatedAt = StateRemoved, at, at
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("after MarkRemoved %+v\nwant %+v", got, want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestListPaginates(t *testing.T) {
	cases := []struct {
		name      string
		records   int
		pageSize  int32
		minScans  int64
		stopAfter int // fn returns an error at this record (0: never)
	}{
		{"empty table", 0, 0, 1, 0},
		{"one page", 5, 0, 1, 0},
		{"pages of two", 7, 2, 4, 0},
		{"pages of one", 3, 1, 3, 0},
		{"stops at the function's error", 6, 2, 1, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			s, c := newStore(t, WithPageSize(tc.pageSize))
			want := map[string]bool{}
			for i := range tc.records {
				r := rec(fmt.Sprintf("4000000000%02d", i), fmt.Sprint(100+i))
				if err := s.Put(ctx, r); err != nil {
					t.Fatal(err)
				}
				want[r.ProviderID] = true
			}
			stop := errors.New("stop")
			var got []string
			err := s.List(ctx, func(r Record) error {
				got = append(got, r.ProviderID)
				if len(got) == tc.stopAfter {
					return stop
				}
				return nil
			})
			if tc.stopAfter > 0 {
				if !errors.Is(err, stop) || len(got) != tc.stopAfter {
					t.Fatalf("List: err=%v after %d records, want the function's error after %d", err, len(got), tc.stopAfter)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			if len(got) != len(want) {
				t.Fatalf("listed %v, want %d records", got, len(want))
			}
			for _, id := range got {
				if !want[id] {
					t.Fatalf("listed %s twice or unexpectedly: %v", id, got)
				}
				delete(want, id)
			}
			if n := c.scans.Load(); n < tc.minScans {
				t.Fatalf("%d Scan calls, want at least %d (pagination)", n, tc.minScans)
			}
		})
	}
}

func TestListRefusesAnUnreadableRecord(t *testing.T) {
	ctx := testCtx(t)
	s, c := newStore(t, WithPageSize(1))
	if err := s.Put(ctx, rec("500000000001", "1")); err != nil {
		t.Fatal(err)
	}
	item := Encode(rec("500000000002", "2"))
	delete(item, AttrSysdigURL)
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table()), Item: item}); err != nil {
		t.Fatal(err)
	}
	err := s.List(ctx, func(Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "attribute SysdigUrl is missing") {
		t.Fatalf("List: %v, want an error naming the missing attribute", err)
	}
}

// FuzzDecode: whatever an item holds, Decode either refuses it or returns a record that
// Encode writes back to the same record.
func FuzzDecode(f *testing.F) {
	f.Add("100000000001", "42", "active", "created", "2026-12-01T10:00:00Z", "")
	f.Add("", "", "removed", "adopted", "2026-12-01T10:00:00.5Z", "2026-12-01T11:00:00Z")
	f.Add("1", "x", "gone", "guessed", "yesterday", "now")
	f.Fuzz(func(t *testing.T, account, id, state, origin, created, removed string) {
		item := Encode(rec("100000000001", "1"))
		for name, v := range map[string]string{AttrAccount: account, AttrProviderID: id, AttrState: state, AttrOrigin: origin, AttrCreatedAt: created, AttrRemovedAt: removed} {
			if v == "" {
				delete(item, name)
			} else {
				item[name] = &types.AttributeValueMemberS{Value: v}
			}
		}
		r, err := Decode(item)
		if err != nil {
			return
		}
		if r.Account == "" || r.ProviderID == "" || (r.State == StateRemoved && r.RemovedAt.IsZero()) {
			t.Fatalf("decoded a record missing a required field: %+v", r)
		}
		again, err := Decode(Encode(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, r)
		}
	})
}
