package dynamodb

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/store"
)

// Every write of this package moves the write mark (the change log's epoch
// and sequence number), also two writes within one millisecond; a direct
// PutItem of a flag, as an operator's edit, leaves it as it was; a dataset
// no writer of ours wrote has none.
func TestWriteMarkMovesWithEveryWrite(t *testing.T) {
	prefix := uniquePrefix("mark")
	s := newTestStore(t, prefix)
	mark := func() string {
		t.Helper()
		m, err := s.WriteMark(t.Context())
		if err != nil {
			t.Fatalf("WriteMark: %v", err)
		}
		return m
	}
	if m := mark(); m != "" {
		t.Fatalf("WriteMark of an empty dataset = %q, want \"\"", m)
	}
	if err := s.Init(t.Context(), dataset(2, 1, 1)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{mark(): true}
	for v := 2; v < 5; v++ {
		if _, err := s.Upsert(t.Context(), store.Features, "flag-0000", mustItem(t, fmt.Sprintf(`{"key":"flag-0000","version":%d}`, v))); err != nil {
			t.Fatal(err)
		}
		m := mark()
		if m == "" || seen[m] {
			t.Fatalf("WriteMark after upsert %d = %q, a mark seen before or none", v, m)
		}
		seen[m] = true
	}
	before := mark()
	c, table := rawClient(t)
	item := s.keyOf(prefix+":features", "flag-0001")
	item[attrVersion] = &types.AttributeValueMemberN{Value: "9"}
	item[attrItem] = &types.AttributeValueMemberS{Value: `{"key":"flag-0001","version":9}`}
	if _, err := c.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	if m := mark(); m != before {
		t.Errorf("WriteMark after a direct PutItem = %q, want %q unchanged", m, before)
	}
}
