package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/store/cache"
)

func TestNotReadyWithoutData(t *testing.T) {
	e := newEnv(t) // no writer has stored a dataset
	ec := evalctx.New("user")
	strict := e.client(client.Config{NotReadyWithoutData: true, Cache: cache.Options{ProbeInterval: 5 * time.Millisecond}})
	lenient := e.client(client.Config{Cache: cache.Options{ProbeInterval: 5 * time.Millisecond}})
	eventually(t, "the first check", func() bool { return strict.DataStoreStatus().State == cache.NotInitialized })

	v, d, err := strict.BoolVariationDetail("bool-flag", ec, true)
	if !v || d.Reason.ErrorKind != evaluation.ErrorClientNotReady || !errors.Is(err, client.ErrClientNotReady) {
		t.Errorf("strict client on an empty store: %v, %+v, %v; want the default with CLIENT_NOT_READY", v, d.Reason, err)
	}
	if all := strict.AllFlagsState(context.Background(), ec, client.AllFlagsOptions{}); all.Valid() || !errors.Is(all.Err(), client.ErrClientNotReady) {
		t.Errorf("strict AllFlagsState: valid %v, err %v", all.Valid(), all.Err())
	}
	_, d, err = lenient.BoolVariationDetail("bool-flag", ec, true)
	if d.Reason.ErrorKind != evaluation.ErrorFlagNotFound || !errors.Is(err, client.ErrFlagNotFound) {
		t.Errorf("default client on an empty store: %+v, %v; want FLAG_NOT_FOUND (LaunchDarkly's daemon mode)", d.Reason, err)
	}

	e.init(testFlags, testSegments)
	eventually(t, "the strict client to see the dataset", func() bool {
		v, err := strict.BoolVariation("bool-flag", ec, false)
		return v && err == nil
	})
}

func TestStatusLogWording(t *testing.T) {
	t.Run("fresh client on an empty store", func(t *testing.T) {
		e := newEnv(t)
		logs, logger := newLogBuffer()
		c := e.client(client.Config{Logger: logger})
		eventually(t, "not initialized", func() bool { return c.DataStoreStatus().State == cache.NotInitialized })
		// The status changes before its log line is written.
		eventually(t, "the log line", func() bool { return len(logs.lines("not initialized")) > 0 })
		lines := logs.lines("not initialized")
		if len(lines) != 1 || strings.Contains(lines[0], "previous=available") {
			t.Errorf("log lines: %q; want one that does not claim the store was available", lines)
		}
	})
	t.Run("store down at start", func(t *testing.T) {
		e := newEnv(t)
		e.init(testFlags, testSegments)
		down := &faultyReader{Reader: e.reader}
		down.setFail(errInjected)
		logs, logger := newLogBuffer()
		c := e.client(client.Config{Store: down, Logger: logger})
		eventually(t, "unavailable", func() bool { return c.DataStoreStatus().State == cache.Unavailable })
		eventually(t, "the log line", func() bool { return len(logs.lines("unavailable")) > 0 })
		lines := logs.lines("unavailable")
		if len(lines) != 1 || strings.Contains(lines[0], "serving cached values") || strings.Contains(lines[0], "previous=available") {
			t.Errorf("log lines: %q; want one that neither claims cached values nor an available store", lines)
		}
	})
}

func TestDataStoreStatusAge(t *testing.T) {
	e := newEnv(t)
	written := time.Now().Add(-time.Millisecond) // the store keeps milliseconds
	e.init(testFlags, testSegments)
	before := time.Now()
	c := e.client(client.Config{})
	if _, err := c.BoolVariation("bool-flag", evalctx.New("u"), false); err != nil {
		t.Fatal(err)
	}
	st := c.DataStoreStatus()
	if st.LastConfirmed.Before(before) || st.LastConfirmed.After(time.Now()) {
		t.Errorf("LastConfirmed = %v, want the first read's time (after %v)", st.LastConfirmed, before)
	}
	// bbolt records the writer's last write (store.WriteTimeReader); the
	// client reads it before its first evaluation.
	if st.LastWrite.Before(written) || st.LastWrite.After(before) {
		t.Errorf("LastWrite = %v, want the init's time (between %v and %v)", st.LastWrite, written, before)
	}
}
