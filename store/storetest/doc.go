// Package storetest is the conformance suite every daemonflag store backend
// runs, in the manner of testing/fstest.TestFS: a backend's own tests describe
// how to open it in a [Harness] and call [Run].
//
//	func TestConformance(t *testing.T) {
//		token := randomToken()
//		storetest.Run(t, storetest.Harness{
//			New: func(t *testing.T, prefix string) store.Store {
//				s, err := mybackend.Open(..., token+"-"+prefix)
//				if err != nil {
//					t.Fatal(err)
//				}
//				return s
//			},
//			AtomicInit: true,
//		})
//	}
//
// The suite works on real stores only. It checks the contracts of package
// store: Init replaces the dataset and sets the initialized marker, reads see
// tombstones, Upsert applies only newer versions and reports it, concurrent
// upserts keep the highest version, prefixes isolate datasets, item bytes
// round-trip exactly, errors (a canceled context, use after Close) come back
// as errors rather than panics, and, when the backend promises it, a reader
// never sees a partly written Init. With [Harness.BigSegments] set it also
// checks big-segment membership and the synchronized-on time.
//
// The suite is itself tested: [RunWith] runs it on any [Runner] (a small
// interface that *testing.T satisfies), and the package's tests run it on a
// recorder against broken stores (versions that go backwards, tombstones
// dropped, a non-atomic Init claimed atomic, an initialized marker shared by
// every prefix), checking that each fails the check for its contract.
//
// Prefixes the suite passes to the harness are short, lower-case ASCII words
// with hyphens ("init-replace", "iso", "iso-b"); the harness may rewrite
// them (add a random token, a Redis Cluster hash tag) as long as equal
// prefixes map to the same dataset and different ones to different datasets.
package storetest
