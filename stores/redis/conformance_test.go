package redis

import (
	"testing"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/storetest"
)

// harness runs the conformance suite with stores opened by open on prefixes
// made by mkPrefix.
func harness(open func(t *testing.T, prefix string) *Store, mkPrefix func(string) string, atomic bool) storetest.Harness {
	return storetest.Harness{
		New: func(t *testing.T, prefix string) store.Store {
			return open(t, mkPrefix(prefix))
		},
		AtomicInit: atomic,
		BigSegments: func(t *testing.T, prefix string) (store.BigSegmentReader, store.BigSegmentWriter) {
			s := open(t, mkPrefix(prefix))
			return s, s
		},
	}
}

// openForSuite opens a store the suite closes itself (no cleanup of ours).
func openForSuite(t *testing.T, o Options) *Store {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformanceSingleNode(t *testing.T) {
	url := singleURL(t)
	base := testPrefix("suite")
	raw := rawSingle(t)
	t.Cleanup(func() { dropPrefix(raw, base) })
	storetest.Run(t, harness(func(t *testing.T, prefix string) *Store {
		return openForSuite(t, Options{URL: url, Prefix: prefix})
	}, func(p string) string { return base + "-" + p }, true))
}

func TestConformanceCluster(t *testing.T) {
	addrs := clusterAddrs(t)
	base := testPrefix("suite")
	raw := rawCluster(t)
	t.Cleanup(func() { dropPrefix(raw, base) })
	storetest.Run(t, harness(func(t *testing.T, prefix string) *Store {
		s := openForSuite(t, Options{Addrs: addrs, Prefix: prefix})
		if !s.AtomicInit() {
			t.Fatalf("a Cluster store with prefix %q should init atomically", prefix)
		}
		return s
	}, func(p string) string { return "{" + base + "-" + p + "}" }, true))
}

// TestConformanceClusterUnhashed runs the suite on a Cluster with a prefix
// without hash tag (LaunchDarkly's layout): everything but atomic Init.
func TestConformanceClusterUnhashed(t *testing.T) {
	addrs := clusterAddrs(t)
	base := testPrefix("suite-unhashed")
	raw := rawCluster(t)
	t.Cleanup(func() { dropPrefix(raw, base) })
	storetest.Run(t, harness(func(t *testing.T, prefix string) *Store {
		s := openForSuite(t, Options{Addrs: addrs, Prefix: prefix, AllowUnhashedClusterPrefix: true})
		if s.AtomicInit() {
			t.Fatalf("a Cluster store with the unhashed prefix %q cannot init atomically", prefix)
		}
		return s
	}, func(p string) string { return base + "-" + p }, false))
}
