package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldreason"
	ld "github.com/launchdarkly/go-server-sdk/v7"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
)

// Items 1 and 2 of the comparison: warm evaluation, evaluator against
// evaluator (BenchmarkEval) and client against client on Redis with warm
// caches (BenchmarkClientEval), and the clients in parallel at GOMAXPROCS 1
// and 2 (BenchmarkClientEvalParallel).

var (
	ourSink  evaluation.Result
	ldSink   any
	boolSink bool
)

// mustContexts parses a context document with both SDKs.
func mustContexts(tb testing.TB, doc string) (evalctx.Context, ldcontext.Context) {
	tb.Helper()
	oc, lc, oerr, lerr := parseContexts([]byte(doc))
	if oerr != nil || lerr != nil {
		tb.Fatalf("context %s: ours: %v; LaunchDarkly: %v", doc, oerr, lerr)
	}
	return oc, lc
}

// caseContexts parses every case's context for both SDKs.
func caseContexts(tb testing.TB, cases []evalCase) ([]evalctx.Context, []ldcontext.Context) {
	tb.Helper()
	octx := make([]evalctx.Context, len(cases))
	lctx := make([]ldcontext.Context, len(cases))
	for i, c := range cases {
		octx[i], lctx[i] = mustContexts(tb, c.context)
	}
	return octx, lctx
}

// benchSides decodes the benchmark dataset with both SDKs.
func benchSides(tb testing.TB) ([]evalCase, *sides) {
	tb.Helper()
	cases, flags, segments := benchData()
	var fd, sd [][]byte
	for _, d := range flags {
		fd = append(fd, []byte(d))
	}
	for _, d := range segments {
		sd = append(sd, []byte(d))
	}
	s := newSides(fd, sd, nil)
	if len(s.decode) > 0 {
		tb.Fatalf("benchmark data decodes differently: %v", s.decode)
	}
	return cases, s
}

// BenchmarkEval compares the evaluators alone: our evaluation.Evaluator and
// LaunchDarkly's evaluation.Evaluator, on decoded flags in memory.
func BenchmarkEval(b *testing.B) {
	cases, s := benchSides(b)
	for _, c := range cases {
		oc, lc := mustContexts(b, c.context)
		ours, ldo, _ := s.evaluate(c.flagKey, oc, lc)
		if k := diffOutcomes(ours, ldo); k != "" {
			b.Fatalf("%s: the SDKs disagree (%s): ours %s, LaunchDarkly %s", c.name, k, mustJSON(ours), mustJSON(ldo))
		}
	}
	b.Run("ours", func(b *testing.B) {
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				f := s.ours.flags[c.flagKey]
				oc, _ := mustContexts(b, c.context)
				bg := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					ourSink = s.ourEv.Evaluate(bg, f, oc)
				}
			})
		}
	})
	b.Run("ld", func(b *testing.B) {
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				f := s.ld.flags[c.flagKey]
				_, lc := mustContexts(b, c.context)
				b.ReportAllocs()
				for b.Loop() {
					ldSink = s.ldEv.Evaluate(f, lc, nil)
				}
			})
		}
	})
}

// redisClients is the pair of clients on one Redis dataset.
type redisClients struct {
	ours *client.Client
	ld   *ld.LDClient
}

var (
	evalClientsOnce sync.Once
	evalClients     *redisClients
	evalClientsErr  string
)

// warmEvalClients returns both clients on the benchmark dataset in Redis,
// with every case evaluated once (warm caches) and checked to agree. The
// clients live until the test binary ends.
func warmEvalClients(b *testing.B) (*redisClients, []evalCase) {
	b.Helper()
	url := redisURL(b)
	cases, flags, segments := benchData()
	evalClientsOnce.Do(func() {
		tb := &onceTB{TB: b}
		prefix := writeRedisDataset(tb, url, "eval", flags, segments)
		evalClients = &redisClients{
			ours: newOurClient(tb, url, prefix, ourSetup{}),
			ld:   newLDClient(tb, url, prefix, ldSetup{}),
		}
		for _, c := range cases {
			oc, lc := mustContexts(tb, c.context)
			_, od, oerr := evalClients.ours.BoolVariationDetail(c.flagKey, oc, false)
			_, ldd, lerr := evalClients.ld.BoolVariationDetail(c.flagKey, lc, false)
			if msg := compareDetails(od, oerr, ldd, lerr); msg != "" {
				evalClientsErr = fmt.Sprintf("%s: %s", c.name, msg)
				return
			}
		}
	})
	if evalClients == nil {
		b.Fatal("benchmark clients could not be set up")
	}
	if evalClientsErr != "" {
		b.Fatal(evalClientsErr)
	}
	return evalClients, cases
}

// onceTB lets setup shared by several benchmarks register its cleanups for
// the end of the test binary instead of the end of the first benchmark.
type onceTB struct{ testing.TB }

func (o *onceTB) Cleanup(fn func()) { addFinalCleanup(fn) }

var (
	finalMu       sync.Mutex
	finalCleanups []func()
)

func addFinalCleanup(fn func()) {
	finalMu.Lock()
	defer finalMu.Unlock()
	finalCleanups = append(finalCleanups, fn)
}

func runFinalCleanups() {
	finalMu.Lock()
	fns := finalCleanups
	finalCleanups = nil
	finalMu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// compareDetails compares what the two clients returned.
func compareDetails(od evaluation.Detail, oerr error, ldd ldreason.EvaluationDetail, lerr error) string {
	ov, oi, or := ourDetailParts(od)
	lv, li, lr := ldDetailParts(ldd)
	a := outcome{Value: ov, Variation: oi, Reason: or}
	l := outcome{Value: lv, Variation: li, Reason: lr}
	if k := diffOutcomes(a, l); k != "" {
		return fmt.Sprintf("clients disagree (%s): ours %s (err %v), LaunchDarkly %s (err %v)", k, mustJSON(a), oerr, mustJSON(l), lerr)
	}
	return ""
}

// BenchmarkClientEval compares BoolVariation of both clients, daemon mode on
// Redis, caches warm (LaunchDarkly's default 15 s TTL on both sides).
func BenchmarkClientEval(b *testing.B) {
	cl, cases := warmEvalClients(b)
	b.Run("ours", func(b *testing.B) {
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				oc, _ := mustContexts(b, c.context)
				b.ReportAllocs()
				for b.Loop() {
					boolSink, _ = cl.ours.BoolVariation(c.flagKey, oc, false)
				}
			})
		}
	})
	b.Run("ld", func(b *testing.B) {
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				_, lc := mustContexts(b, c.context)
				b.ReportAllocs()
				for b.Loop() {
					boolSink, _ = cl.ld.BoolVariation(c.flagKey, lc, false)
				}
			})
		}
	})
}

// parallelCases are the cases of the parallel benchmark.
var parallelCases = map[string]bool{"fallthrough": true, "rule-in": true, "targets-100": true,
	"segment-rule": true, "rollout": true, "prereqs-width-5": true}

// BenchmarkClientEvalParallel runs BoolVariation from many goroutines with
// GOMAXPROCS 1 and 2.
func BenchmarkClientEvalParallel(b *testing.B) {
	cl, cases := warmEvalClients(b)
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("procs-%d", procs), func(b *testing.B) {
			for _, side := range []string{"ours", "ld"} {
				b.Run(side, func(b *testing.B) {
					for _, c := range cases {
						if !parallelCases[c.name] {
							continue
						}
						b.Run(c.name, func(b *testing.B) {
							defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
							oc, lc := mustContexts(b, c.context)
							b.ReportAllocs()
							b.ResetTimer()
							b.RunParallel(func(pb *testing.PB) {
								var v bool
								for pb.Next() {
									if side == "ours" {
										v, _ = cl.ours.BoolVariation(c.flagKey, oc, false)
									} else {
										v, _ = cl.ld.BoolVariation(c.flagKey, lc, false)
									}
								}
								_ = v
							})
						})
					}
				})
			}
		})
	}
}
