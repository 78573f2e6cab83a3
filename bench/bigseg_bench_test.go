package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/store"
)

// Item 6: big segments. A flag whose rule matches a big segment, evaluated
// by both clients with a membership cache of 1,000 context keys, on the same
// Redis memberships (written with our store, read by ours and by
// LaunchDarkly's redigo big-segment store): "cached" evaluates one context
// again and again; "uncached" cycles through 20,000 contexts, so every
// lookup misses the cache and reads Redis.

const (
	bigSegContexts  = 20000
	bigSegCacheSize = 1000
)

// writeBigSegmentData writes the big-segment flag, its segment and the
// memberships (even-numbered user keys included) under a new prefix.
func writeBigSegmentData(b *testing.B, url string) string {
	b.Helper()
	flags := map[string]string{
		"big-flag": ruleFlag("big-flag", `{"op":"segmentMatch","values":["big-seg"]}`),
	}
	segments := map[string]string{
		"big-seg": `{"key":"big-seg","version":1,"unbounded":true,"generation":1,"unboundedContextKind":"user","salt":"b"}`,
	}
	prefix := writeRedisDataset(b, url, "bigseg", flags, segments)
	st := openOurRedis(b, url, prefix)
	defer st.Close()
	var changes []store.MembershipChange
	ref := store.SegmentRef("big-seg", 1)
	for i := 0; i < bigSegContexts; i += 2 {
		changes = append(changes, store.MembershipChange{ContextHash: store.ContextHash(fmt.Sprintf("user-%d", i)), SegmentRef: ref})
	}
	ctx := context.Background()
	if err := st.ApplyMembership(ctx, changes); err != nil {
		b.Fatalf("ApplyMembership: %v", err)
	}
	if err := st.SetSynchronizedOn(ctx, time.Now()); err != nil {
		b.Fatalf("SetSynchronizedOn: %v", err)
	}
	return prefix
}

func BenchmarkBigSegments(b *testing.B) {
	url := redisURL(b)
	prefix := writeBigSegmentData(b, url)
	octx := make([]evalctx.Context, bigSegContexts)
	lctx := make([]ldcontext.Context, bigSegContexts)
	for i := range octx {
		octx[i], lctx[i] = mustContexts(b, fmt.Sprintf(`{"kind":"user","key":"user-%d"}`, i))
	}
	bigStore := openOurRedis(b, url, prefix)
	b.Cleanup(func() { bigStore.Close() })
	ours := newOurClient(b, url, prefix, ourSetup{bigSegs: bigStore, bigCache: bigSegCacheSize})
	ldc := newLDClient(b, url, prefix, ldSetup{bigSegs: true, bigCache: bigSegCacheSize})

	// Both clients must agree, with a HEALTHY status in the reason.
	for i := range 10 {
		_, od, oerr := ours.BoolVariationDetail("big-flag", octx[i], false)
		_, ldd, lerr := ldc.BoolVariationDetail("big-flag", lctx[i], false)
		if msg := compareDetails(od, oerr, ldd, lerr); msg != "" {
			b.Fatalf("user-%d: %s", i, msg)
		}
		if od.Reason.BigSegmentsStatus != "HEALTHY" {
			b.Fatalf("user-%d: big segments status %q, want HEALTHY", i, od.Reason.BigSegmentsStatus)
		}
	}

	for _, mode := range []string{"cached", "uncached"} {
		b.Run(mode, func(b *testing.B) {
			// pos carries on across the benchmark's runs, so that a run
			// never starts on keys the previous one left in the cache.
			pos := 0
			next := func() int {
				if mode == "cached" {
					return 0
				}
				pos = (pos + 1) % bigSegContexts
				return pos
			}
			b.Run("ours", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					boolSink, _ = ours.BoolVariation("big-flag", octx[next()], false)
				}
			})
			b.Run("ld", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					boolSink, _ = ldc.BoolVariation("big-flag", lctx[next()], false)
				}
			})
		})
	}
}
