package dynamodb

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/store"
)

// paddedItem returns an item for key whose DynamoDB item size in st is
// exactly size bytes.
func paddedItem(t *testing.T, st *Store, kind store.Kind, key string, version, size int) store.Item {
	t.Helper()
	data := func(pad int) []byte {
		return fmt.Appendf(nil, `{"key":%q,"version":%d,"pad":"%s"}`, key, version, strings.Repeat("x", pad))
	}
	av, err := st.encodeItem(kind, key, store.Item{Version: version, Data: data(0)})
	if err != nil {
		t.Fatal(err)
	}
	pad := size - itemSize(av)
	if pad < 0 {
		t.Fatalf("size %d is too small for an item", size)
	}
	it := store.Item{Version: version, Data: data(pad)}
	av, _ = st.encodeItem(kind, key, it)
	if got := itemSize(av); got != size {
		t.Fatalf("padded item size %d, want %d", got, size)
	}
	return it
}

// TestItemSizeMatchesServer checks the size computation against the server's
// own limit: an item of exactly 400 KB is stored, one byte more is refused by
// the server too, and the store refuses it before sending.
func TestItemSizeMatchesServer(t *testing.T) {
	st := newTestStore(t, uniquePrefix("size"))
	c, table := rawClient(t)

	atLimit := paddedItem(t, st, store.Features, "big", 1700000000123, maxItemSize)
	if applied, err := st.Upsert(t.Context(), store.Features, "big", atLimit); err != nil || !applied {
		t.Fatalf("Upsert of an item of exactly %d bytes: applied=%v err=%v", maxItemSize, applied, err)
	}

	over := paddedItem(t, st, store.Features, "over", 7, maxItemSize+1)
	av, _ := st.encodeItem(store.Features, "over", over)
	_, err := c.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String(table), Item: av})
	if err == nil || !strings.Contains(err.Error(), "size") {
		t.Fatalf("the server accepted an item of %d bytes by our count (err %v): the size computation is too strict", maxItemSize+1, err)
	}
	_, err = st.Upsert(t.Context(), store.Features, "over", over)
	var tl *ItemTooLargeError
	if !errors.As(err, &tl) || tl.Key != "over" || tl.Size != maxItemSize+1 {
		t.Fatalf("Upsert error = %v; want an ItemTooLargeError for \"over\" of %d bytes", err, maxItemSize+1)
	}
}

func TestItemSizeCounting(t *testing.T) {
	tests := []struct {
		v    types.AttributeValue
		want int
	}{
		{&types.AttributeValueMemberS{Value: "héllo"}, 6}, // UTF-8 bytes
		{&types.AttributeValueMemberN{Value: "0"}, 1},
		{&types.AttributeValueMemberN{Value: "1"}, 2},
		{&types.AttributeValueMemberN{Value: "12"}, 2},
		{&types.AttributeValueMemberN{Value: "100"}, 2},
		{&types.AttributeValueMemberN{Value: "123"}, 3},
		{&types.AttributeValueMemberN{Value: "1234"}, 3},
		{&types.AttributeValueMemberN{Value: "1200"}, 2},
		{&types.AttributeValueMemberN{Value: "12000"}, 3},
		{&types.AttributeValueMemberN{Value: "-12"}, 3},
		{&types.AttributeValueMemberN{Value: "1700000000123"}, 8},
		{&types.AttributeValueMemberSS{Value: []string{"a.g1", "bb.g2"}}, 9},
	}
	for _, tc := range tests {
		if got := valueSize(tc.v); got != tc.want {
			t.Errorf("valueSize(%#v) = %d, want %d", tc.v, got, tc.want)
		}
	}
	if got := itemSize(map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: "ab"}}); got != 5 {
		t.Errorf("itemSize = %d, want 5 (name + value)", got)
	}
}

func TestUpsertOversizedItemKeepsStoredCopy(t *testing.T) {
	st := newTestStore(t, uniquePrefix("oversize-upsert"))
	small := mustItem(t, `{"key":"f","version":1,"on":true}`)
	if _, err := st.Upsert(t.Context(), store.Features, "f", small); err != nil {
		t.Fatal(err)
	}
	huge := paddedItem(t, st, store.Features, "f", 2, 600*1024)
	applied, err := st.Upsert(t.Context(), store.Features, "f", huge)
	var tl *ItemTooLargeError
	if applied || !errors.As(err, &tl) || !strings.Contains(err.Error(), `"f"`) || !strings.Contains(err.Error(), fmt.Sprint(600*1024)) {
		t.Fatalf("Upsert = %v, %v; want an error naming the key and its size", applied, err)
	}
	t.Log(err)
	got, found, err := st.Get(t.Context(), store.Features, "f")
	if err != nil || !found || string(got.Data) != string(small.Data) {
		t.Fatalf("after the refused upsert Get = %s, %v, %v; want the old copy", got.Data, found, err)
	}
}

func TestInitOversizedItemWritesNothing(t *testing.T) {
	st := newTestStore(t, uniquePrefix("oversize-init"))
	before := dataset(30, 3, 1)
	if err := st.Init(t.Context(), before); err != nil {
		t.Fatal(err)
	}
	// The next dataset changes every item, drops some, adds some, and has
	// one oversized flag and one oversized segment.
	next := dataset(20, 2, 2)
	next[1].Items = append(next[1].Items, store.KeyedItem{Key: "flag-0005", Item: paddedItem(t, st, store.Features, "flag-0005", 2, maxItemSize+10)})
	next[1].Items = append(next[1].Items, store.KeyedItem{Key: "new-flag", Item: mustItem(t, `{"key":"new-flag","version":1}`)})
	next[0].Items = append(next[0].Items, store.KeyedItem{Key: "huge-seg", Item: paddedItem(t, st, store.Segments, "huge-seg", 1, 1<<20)})
	err := st.Init(t.Context(), next)
	var tl *ItemTooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), "flag-0005") || !strings.Contains(err.Error(), "huge-seg") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("Init error = %v; want an error naming both oversized items", err)
	}
	t.Log(err)
	wantDataset(t, st, before)
}
