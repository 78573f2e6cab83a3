package openfeature

import (
	"context"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

// Test_2_8_and_5_3_5_RedisOutage stops a real Redis under the provider and
// starts it again: the provider emits PROVIDER_STALE (it serves the last
// good values, with reason STALE), the SDK's state follows (5.3.5), and
// PROVIDER_READY comes when Redis is back.
func Test_2_8_and_5_3_5_RedisOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops a redis-server")
	}
	srv := startRedis(t)
	addr := srv.url() + "?prefix=of-outage"
	ctx := context.Background()
	w, err := stores.Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ds, err := writer.LoadFiles("testdata/evaluation-flags.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.WriteDataset(ctx, w, ds); err != nil {
		t.Fatal(err)
	}

	p, err := NewFromAddress(ctx, addr, client.Config{Logger: quietLogger(),
		Cache: cache.Options{TTL: 100 * time.Millisecond, ProbeInterval: 50 * time.Millisecond, ChangePollInterval: 50 * time.Millisecond}}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	api := isolated.NewAPI()
	defer api.Shutdown(ctx)
	ev := watchEvents(api, of.ProviderReady, of.ProviderStale, of.ProviderError)
	if err := api.SetProviderAndWait(ctx, p); err != nil {
		t.Fatal(err)
	}
	c := api.NewClient()
	d, err := c.BooleanValueDetails(ctx, "boolean-flag", false, user)
	if err != nil || !d.Value || d.Reason != of.DefaultReason {
		t.Fatalf("before the outage: %+v, %v", d, err)
	}

	srv.stop()
	stale := ev.waitFor(t, of.ProviderStale, nil)
	if stale.Message == "" {
		t.Error("PROVIDER_STALE without a message")
	}
	if c.State() != of.StaleState {
		t.Errorf("client state %s, want STALE", c.State())
	}
	d, err = c.BooleanValueDetails(ctx, "boolean-flag", false, user)
	if err != nil || !d.Value || d.Reason != StaleReason || d.Variant != "0" || d.FlagMetadata[MetaReasonKind] != "FALLTHROUGH" {
		t.Errorf("during the outage: %+v, %v (want the last good value, reason STALE)", d, err)
	}
	if n := ev.count(of.ProviderError); n != 0 {
		t.Errorf("%d PROVIDER_ERROR events while last good values were served", n)
	}

	srv.start()
	ev.waitFor(t, of.ProviderReady, func(d of.EventDetails) bool { return d.Message == "flag store available" })
	if c.State() != of.ReadyState {
		t.Errorf("client state %s after recovery, want READY", c.State())
	}
	d, err = c.BooleanValueDetails(ctx, "boolean-flag", false, user)
	if err != nil || d.Reason != of.DefaultReason {
		t.Errorf("after recovery: %+v, %v", d, err)
	}
	if n := ev.count(of.ProviderStale); n != 1 {
		t.Errorf("%d PROVIDER_STALE events, want 1", n)
	}
}
