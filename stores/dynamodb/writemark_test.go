package dynamodb

import (
	"errors"
	"fmt"
	"testing"
	"time"

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

// StartCheck answers as Initialized, WriteMark and LastWrite do, before any
// write, after an Init, and during an init in progress (the check's error
// says so, as Initialized's does); it reads no item.
func TestStartCheckAnswersAsTheThreeCalls(t *testing.T) {
	prefix := uniquePrefix("startcheck")
	s := newTestStore(t, prefix)
	check := func(when string) store.StartCheck {
		t.Helper()
		sc := s.StartCheck(t.Context(), store.Features, "flag-0000")
		inited, ierr := s.Initialized(t.Context())
		mark, merr := s.WriteMark(t.Context())
		last, ok, lerr := s.LastWrite(t.Context())
		if sc.Inited != inited || (sc.InitErr == nil) != (ierr == nil) {
			t.Errorf("%s: StartCheck inited %v, %v; Initialized %v, %v", when, sc.Inited, sc.InitErr, inited, ierr)
		}
		if sc.Mark != mark || sc.MarkErr != nil || merr != nil {
			t.Errorf("%s: StartCheck mark %q, %v; WriteMark %q, %v", when, sc.Mark, sc.MarkErr, mark, merr)
		}
		if sc.LastWriteOK != ok || !sc.LastWrite.Equal(last) || sc.LastWriteErr != nil || lerr != nil {
			t.Errorf("%s: StartCheck last write %v, %v, %v; LastWrite %v, %v, %v", when, sc.LastWrite, sc.LastWriteOK, sc.LastWriteErr, last, ok, lerr)
		}
		if sc.ItemRead {
			t.Errorf("%s: StartCheck read the item; want it left to Get", when)
		}
		return sc
	}
	check("empty")
	if err := s.Init(t.Context(), dataset(2, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if sc := check("after Init"); !sc.Inited || sc.Mark == "" || !sc.LastWriteOK {
		t.Errorf("after Init: StartCheck = %+v; want initialized, a mark and a last write", sc)
	}
	// An init in progress, as a writer killed mid-Init leaves it.
	c, table := rawClient(t)
	item := s.keyOf(s.namespace(initedNamespace), s.namespace(initingKey))
	item[attrStartedAt] = &types.AttributeValueMemberN{Value: fmt.Sprint(time.Now().UnixMilli())}
	if _, err := c.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	if sc := check("init in progress"); !errors.Is(sc.InitErr, store.ErrInitInProgress) {
		t.Errorf("during an init in progress: StartCheck InitErr = %v; want store.ErrInitInProgress", sc.InitErr)
	}
}
