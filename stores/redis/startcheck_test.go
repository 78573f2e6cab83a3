package redis

import (
	"errors"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

// StartCheck answers as Initialized, WriteMark, LastWrite and GetUnparsed
// do, before and after an Init, on a single server and on a Cluster (tagged, and unhashed:
// the keys on several nodes); with notify=keyspace the mark is unsupported.
func TestStartCheckAnswersAsTheThreeCalls(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *Store
	}{
		{"single", func(t *testing.T) *Store { return openSingle(t, testPrefix("start")) }},
		{"cluster tagged", func(t *testing.T) *Store { return openCluster(t, taggedPrefix("start"), false) }},
		{"cluster unhashed", func(t *testing.T) *Store { return openCluster(t, testPrefix("start"), true) }},
		{"keyspace", func(t *testing.T) *Store {
			return mustOpen(t, Options{URL: singleURL(t), Prefix: testPrefix("start"), Notify: NotifyKeyspace})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			ctx := ctxT(t)
			check := func(when string) {
				t.Helper()
				sc := s.StartCheck(ctx, store.Features, "f")
				inited, ierr := s.Initialized(ctx)
				mark, merr := s.WriteMark(ctx)
				last, ok, lerr := s.LastWrite(ctx)
				if sc.InitErr != nil || ierr != nil || sc.Inited != inited {
					t.Errorf("%s: StartCheck inited %v, %v; Initialized %v, %v", when, sc.Inited, sc.InitErr, inited, ierr)
				}
				if errors.Is(merr, errors.ErrUnsupported) != errors.Is(sc.MarkErr, errors.ErrUnsupported) || sc.Mark != mark {
					t.Errorf("%s: StartCheck mark %q, %v; WriteMark %q, %v", when, sc.Mark, sc.MarkErr, mark, merr)
				}
				if sc.LastWriteErr != nil || lerr != nil || sc.LastWriteOK != ok || !sc.LastWrite.Equal(last) {
					t.Errorf("%s: StartCheck last write %v, %v, %v; LastWrite %v, %v, %v", when, sc.LastWrite, sc.LastWriteOK, sc.LastWriteErr, last, ok, lerr)
				}
				data, found, gerr := s.GetUnparsed(ctx, store.Features, "f")
				keyspace := s.notify == NotifyKeyspace
				if sc.ItemRead == keyspace || !keyspace && (sc.ItemErr != nil || gerr != nil || sc.ItemFound != found || string(sc.ItemData) != string(data)) {
					t.Errorf("%s: StartCheck item read %v: %q, %v, %v; GetUnparsed %q, %v, %v (keyspace %v: no item)", when, sc.ItemRead, sc.ItemData, sc.ItemFound, sc.ItemErr, data, found, gerr, keyspace)
				}
			}
			check("empty")
			if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: markFlag(t, 1, true)}}}}); err != nil {
				t.Fatal(err)
			}
			check("after Init")
			if sc := s.StartCheck(ctx, "", ""); sc.ItemRead || !sc.Inited || !sc.LastWriteOK || (sc.Mark == "") != (tc.name == "keyspace") {
				t.Errorf("after Init: StartCheck = %+v; want initialized, a last write and (but with keyspace) a mark", sc)
			}
		})
	}
}

// A closed store's StartCheck fails every answer.
func TestStartCheckClosed(t *testing.T) {
	s := openSingle(t, testPrefix("startclosed"))
	_ = s.Close()
	sc := s.StartCheck(ctxT(t), store.Features, "f")
	if !errors.Is(sc.InitErr, ErrClosed) || !errors.Is(sc.MarkErr, ErrClosed) || !errors.Is(sc.LastWriteErr, ErrClosed) {
		t.Fatalf("StartCheck after Close = %+v; want ErrClosed for each answer", sc)
	}
}
