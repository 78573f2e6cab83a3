package changefeed

import (
	"slices"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

// TestHub: broadcasts reach every subscriber in order, a backlog collapses
// into ChangeAll without blocking the sender, and stopped subscribers and
// a closed hub deliver nothing more.
func TestHub(t *testing.T) {
	var h Hub
	// Each subscriber has a channel of its own, large enough for every
	// batch it can be given here, so no callback ever blocks on the test.
	got := make(chan []store.Change, 4*maxPending)
	s := h.Add(func(cs []store.Change) { got <- cs })
	h.Broadcast([]store.Change{{Kind: store.Features, Key: "a"}})
	if cs := <-got; !slices.Equal(cs, []store.Change{{Kind: store.Features, Key: "a"}}) {
		t.Errorf("delivered %v", cs)
	}
	gotBlocked := make(chan []store.Change, 4*maxPending)

	// A callback that blocks: the sender never does, and the backlog
	// becomes ChangeAll.
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	blocked := h.Add(func(cs []store.Change) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		gotBlocked <- cs
	})
	h.Broadcast([]store.Change{{Kind: store.Segments, Key: "first"}})
	<-entered
	for i := range 3 * maxPending {
		h.Broadcast([]store.Change{{Kind: store.Features, Key: string(rune('a' + i%26))}})
	}
	s.Stop()
	close(release)
	var last []store.Change
	for cs := range gotBlocked {
		last = cs
		if slices.Equal(cs, []store.Change{store.ChangeAll}) {
			break
		}
	}
	if !slices.Equal(last, []store.Change{store.ChangeAll}) {
		t.Errorf("backlog delivered as %v; want ChangeAll", last)
	}
	if h.Len() != 1 {
		t.Errorf("%d subscribers after one stopped; want 1", h.Len())
	}
	h.Close()
	<-blocked.Done()
	<-s.Done()
	if h.Add(func([]store.Change) {}) != nil {
		t.Error("Add on a closed hub returned a subscriber")
	}
}

// TestChangeAllKeepsLaterChanges: a ChangeAll queued before an item change
// does not swallow it (a subscriber may be waiting for that key), and a
// second ChangeAll in the same backlog is queued once.
func TestChangeAllKeepsLaterChanges(t *testing.T) {
	var h Hub
	defer h.Close()
	got := make(chan []store.Change, 8)
	release := make(chan struct{})
	entered := make(chan struct{})
	first := true
	h.Add(func(cs []store.Change) {
		if first {
			first = false
			close(entered)
			<-release
		}
		got <- cs
	})
	h.Broadcast([]store.Change{{Kind: store.Features, Key: "first"}})
	<-entered // the callback is busy: what follows queues as one backlog
	h.Broadcast([]store.Change{store.ChangeAll})
	h.Broadcast([]store.Change{{Kind: store.Features, Key: "a"}, store.ChangeAll})
	h.Broadcast([]store.Change{{Kind: store.Segments, Key: "s"}})
	close(release)
	if cs := <-got; !slices.Equal(cs, []store.Change{{Kind: store.Features, Key: "first"}}) {
		t.Fatalf("first batch %v", cs)
	}
	want := []store.Change{store.ChangeAll, {Kind: store.Features, Key: "a"}, {Kind: store.Segments, Key: "s"}}
	if cs := <-got; !slices.Equal(cs, want) {
		t.Errorf("backlog delivered as %v; want %v", cs, want)
	}
}
