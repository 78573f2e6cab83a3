package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// TestStoreUnavailable: the store fails after the client has read some
// flags. Those keep their last good values (LaunchDarkly would serve
// defaults); a flag never read gives the default with ERROR/EXCEPTION and an
// error matching store.ErrUnavailable; status listeners hear of the outage
// and of the recovery.
func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	fr := &faultyReader{Reader: e.reader}
	logs, logger := newLogBuffer()
	c := e.client(client.Config{Store: fr, Logger: logger,
		Cache: cache.Options{TTL: 5 * time.Millisecond, ProbeInterval: 5 * time.Millisecond}})
	var statuses recorder[cache.Status]
	c.AddDataStoreStatusListener(statuses.add)
	if err := c.WaitForInitialization(bg); err != nil {
		t.Fatal(err)
	}
	u := evalctx.New("u")
	if v, err := c.StringVariation("string-flag", u, "d"); v != "a" || err != nil {
		t.Fatalf("before the outage: %q, %v", v, err)
	}

	fr.setFail(errInjected)
	eventually(t, "status unavailable", func() bool {
		c.StringVariation("string-flag", u, "d") // past the TTL, this starts a refresh, which fails
		return c.DataStoreStatus().State == cache.Unavailable
	})
	for range 100 {
		if v, d, err := c.StringVariationDetail("string-flag", u, "d"); v != "a" || err != nil || d.Reason.Kind != evaluation.ReasonFallthrough {
			t.Fatalf("during the outage, a flag read before: %q, %+v, %v", v, d, err)
		}
	}
	v, d, err := c.IntVariationDetail("int-flag", u, 42)
	if v != 42 || d.Reason.ErrorKind != evaluation.ErrorException ||
		!errors.Is(err, client.ErrDataUnavailable) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("during the outage, a flag never read: %d, %+v, %v", v, d, err)
	}
	st := c.DataStoreStatus()
	if !errors.Is(st.Err, store.ErrUnavailable) || !st.Stale {
		t.Errorf("status = %+v", st)
	}

	fr.setFail(nil)
	eventually(t, "status available", func() bool { return c.DataStoreStatus().State == cache.Available })
	eventually(t, "int-flag readable", func() bool {
		v, err := c.IntVariation("int-flag", u, 42)
		return v == 2 && err == nil
	})
	eventually(t, "listener told of both changes", func() bool {
		got := statuses.get()
		return len(got) >= 2 && got[0].State == cache.Unavailable && got[len(got)-1].State == cache.Available
	})
	if n := len(logs.lines("injected failure")); n == 0 || n > 3 {
		t.Errorf("%d log lines name the failure, want one per status change:\n%s", n, logs)
	}
}

// TestStoreFilesRemoved: the store's files disappear under a running client
// (as if the writer's data were wiped). The client keeps serving what it
// read, and the status says the store holds no dataset.
func TestStoreFilesRemoved(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	c := e.client(client.Config{Cache: cache.Options{TTL: 5 * time.Millisecond, ProbeInterval: 5 * time.Millisecond}})
	u := evalctx.New("u")
	if v, err := c.StringVariation("string-flag", u, "d"); v != "a" || err != nil {
		t.Fatalf("before: %q, %v", v, err)
	}
	matches, _ := filepath.Glob(e.path + "*")
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "status not available", func() bool {
		c.StringVariation("string-flag", u, "d") // refreshes notice the loss
		return c.DataStoreStatus().State != cache.Available
	})
	if v, err := c.StringVariation("string-flag", u, "d"); v != "a" || err != nil {
		t.Errorf("after the files went: %q, %v (status %+v)", v, err, c.DataStoreStatus())
	}
	t.Logf("status after the files went: %+v", c.DataStoreStatus())
}

func TestWaitForInitialization(t *testing.T) {
	e := newEnv(t) // no dataset written yet
	c := e.client(client.Config{Cache: cache.Options{TTL: 5 * time.Millisecond, ProbeInterval: 5 * time.Millisecond}})
	if !c.Initialized() {
		t.Error("a daemon-mode client is ready at once")
	}
	// An empty store: flags are not found, as in LaunchDarkly's daemon mode.
	if _, d, err := c.BoolVariationDetail("bool-flag", evalctx.New("u"), true); d.Reason.ErrorKind != evaluation.ErrorFlagNotFound || !errors.Is(err, client.ErrFlagNotFound) {
		t.Errorf("empty store: %+v, %v", d, err)
	}
	ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
	defer cancel()
	err := c.WaitForInitialization(ctx)
	if !errors.Is(err, store.ErrNotInitialized) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForInitialization on an empty store: %v", err)
	}
	if st := c.DataStoreStatus(); st.State != cache.NotInitialized {
		t.Errorf("status = %+v", st)
	}

	done := make(chan error, 1)
	go func() { done <- c.WaitForInitialization(bg) }()
	time.Sleep(10 * time.Millisecond)
	e.init(testFlags, testSegments)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitForInitialization did not return after the writer's Init")
	}
	eventually(t, "bool-flag", func() bool {
		v, err := c.BoolVariation("bool-flag", evalctx.New("u"), false)
		return v && err == nil
	})

	t.Run("Close ends the wait", func(t *testing.T) {
		e := newEnv(t)
		c := e.client(client.Config{})
		done := make(chan error, 1)
		go func() { done <- c.WaitForInitialization(bg) }()
		time.Sleep(10 * time.Millisecond)
		c.Close()
		select {
		case err := <-done:
			if !errors.Is(err, client.ErrClientNotReady) {
				t.Errorf("err = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("WaitForInitialization still waits after Close")
		}
	})

	t.Run("unavailable store", func(t *testing.T) {
		fr := &faultyReader{Reader: e.reader}
		fr.setFail(errInjected)
		c := e.client(client.Config{Store: fr, Cache: cache.Options{ProbeInterval: 5 * time.Millisecond}})
		ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
		defer cancel()
		if err := c.WaitForInitialization(ctx); !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestBigSegments(t *testing.T) {
	e := newEnv(t)
	flags := append([]string{
		`{"key":"big-flag","version":1,"on":true,"variations":[false,true],"offVariation":0,"fallthrough":{"variation":0},
			"rules":[{"id":"big","variation":1,"clauses":[{"attribute":"","op":"segmentMatch","values":["big"]}]}]}`,
	}, testFlags...)
	segments := append([]string{`{"key":"big","version":1,"unbounded":true,"generation":3}`}, testSegments...)
	e.init(flags, segments)
	err := e.writer.ApplyMembership(bg, []store.MembershipChange{
		{ContextHash: store.ContextHash("member"), SegmentRef: store.SegmentRef("big", 3)},
		{ContextHash: store.ContextHash("excluded"), SegmentRef: store.SegmentRef("big", 3), Excluded: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.writer.SetSynchronizedOn(bg, time.Now()); err != nil {
		t.Fatal(err)
	}

	t.Run("not configured", func(t *testing.T) {
		c := e.client(client.Config{})
		v, d, err := c.BoolVariationDetail("big-flag", evalctx.New("member"), false)
		if v || err != nil || d.Reason.BigSegmentsStatus != evaluation.BigSegmentsNotConfigured {
			t.Errorf("%v, %+v, %v", v, d, err)
		}
		if st := c.BigSegmentStoreStatus(); st.Available || st.Stale {
			t.Errorf("status = %+v", st)
		}
		c.AddBigSegmentStoreStatusListener(func(bigsegments.Status) { t.Error("listener called") })()
	})

	t.Run("healthy", func(t *testing.T) {
		c := e.client(client.Config{BigSegments: client.BigSegmentsConfig{Store: e.reader}})
		for key, want := range map[string]bool{"member": true, "excluded": false, "neither": false} {
			v, d, err := c.BoolVariationDetail("big-flag", evalctx.New(key), !want)
			if v != want || err != nil || d.Reason.BigSegmentsStatus != evaluation.BigSegmentsHealthy {
				t.Errorf("%s: %v, %+v, %v", key, v, d, err)
			}
		}
		if st := c.BigSegmentStoreStatus(); !st.Available || st.Stale {
			t.Errorf("status = %+v", st)
		}
		// Flags without big segments carry no big-segment status.
		if _, d, _ := c.BoolVariationDetail("bool-flag", evalctx.New("member"), false); d.Reason.BigSegmentsStatus != "" {
			t.Errorf("bool-flag reason = %+v", d.Reason)
		}
	})

	t.Run("stale, then fresh again", func(t *testing.T) {
		c := e.client(client.Config{BigSegments: client.BigSegmentsConfig{Store: e.reader,
			StaleAfter: 50 * time.Millisecond, StatusPollInterval: 5 * time.Millisecond, CacheTTL: time.Millisecond}})
		var statuses recorder[bigsegments.Status]
		c.AddBigSegmentStoreStatusListener(statuses.add)
		eventually(t, "stale", func() bool { return c.BigSegmentStoreStatus().Stale })
		v, d, err := c.BoolVariationDetail("big-flag", evalctx.New("member"), false)
		if !v || err != nil || d.Reason.BigSegmentsStatus != evaluation.BigSegmentsStale {
			t.Errorf("stale: %v, %+v, %v", v, d, err)
		}
		if err := e.writer.SetSynchronizedOn(bg, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "fresh", func() bool { return !c.BigSegmentStoreStatus().Stale })
		eventually(t, "listener told", func() bool {
			got := statuses.get()
			return len(got) > 0 && !got[len(got)-1].Stale && got[len(got)-1].Available
		})
	})
}
