package cache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

// initInProgress is a store whose writer's Init is in progress (as a
// DynamoDB store reports it: store.ErrInitInProgress, wrapping
// store.ErrUnavailable), counting the item reads it is asked for.
type initInProgress struct {
	store.Reader
	gets atomic.Int64
}

var errIniting = fmt.Errorf("test: an init started and has not finished: %w (%w)", store.ErrInitInProgress, store.ErrUnavailable)

func (s *initInProgress) Initialized(context.Context) (bool, error) { return true, errIniting }

func (s *initInProgress) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	s.gets.Add(1)
	return s.Reader.Get(ctx, kind, key)
}

// A new cache whose first check finds a writer's Init in progress serves
// nothing it would read from the possibly mixed dataset: the first lookup,
// which waited for that check, fails with its error and reads no item.
func TestFirstLookupDuringInitInProgress(t *testing.T) {
	ms := newFlagStore(t)
	s := &initInProgress{Reader: ms}
	x := newCache(t, s, Options{})
	f, err := x.GetFlag(context.Background(), "f")
	if f != nil || !errors.Is(err, store.ErrInitInProgress) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("first lookup during an init in progress = %v, %v; want no flag and the init-in-progress error", f, err)
	}
	if n := s.gets.Load(); n != 0 {
		t.Errorf("the store was read %d times during the init in progress; want 0", n)
	}
	if st := x.Status(); st.State != Unavailable {
		t.Errorf("status %v; want Unavailable", st.State)
	}
}
