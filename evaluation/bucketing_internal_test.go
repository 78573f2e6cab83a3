package evaluation

import "testing"

// LaunchDarkly's published bucketing reference values: every SDK must put
// these inputs in exactly these buckets.
func TestHashBucketReferenceValues(t *testing.T) {
	cases := []struct {
		in   string
		want float32
	}{
		{"hashKey.saltyA.userKeyA", 0.42157587},
		{"hashKey.saltyA.userKeyB", 0.6708485},
		{"hashKey.saltyA.userKeyC", 0.10343106},
		{"61.userKeyA", 0.09801207},
		{"hashKey.saltyA.33333", 0.54771423},
	}
	for _, tc := range cases {
		if got := hashBucket([]byte(tc.in)); got != tc.want {
			t.Errorf("hashBucket(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
