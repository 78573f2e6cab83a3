package evaluation

import (
	"crypto/sha1" //nolint:gosec // bucketing is not security; the hash is LaunchDarkly's
	"encoding/binary"
	"strconv"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/model"
)

// bucketProblem says why a context could not be bucketed normally; the
// bucket is then 0.
type bucketProblem uint8

const (
	bucketOK bucketProblem = iota
	bucketLacksKind
	bucketNoAttribute
	bucketWrongType
)

// bucketScale is 0xFFFFFFFFFFFFFFF (15 hex digits) as a float32, the divisor
// LaunchDarkly uses. The float32 arithmetic is deliberate: it reproduces
// LaunchDarkly's bucket values bit for bit.
const bucketScale = float32(0xFFFFFFFFFFFFFFF)

// bucketValue computes a context's bucket in [0, 1]: SHA-1 of
// "prefix.value", where prefix is the seed (when set) or "key.salt", and
// value is the bucketBy attribute (always the context key in experiments)
// of the context of the given kind. String and integer attribute values
// bucket; other values, a missing attribute or a missing kind give bucket
// 0 with the problem noted. ok is false only for an invalid bucketBy
// reference (malformed data).
func (st *state) bucketValue(experiment bool, seed *int, kind evalctx.Kind, key, salt string,
	bucketBy evalctx.Ref, hasBucketBy bool) (bucket float32, problem bucketProblem, ok bool) {
	byKey := experiment || !hasBucketBy // experiments always bucket by key
	if !byKey && bucketBy.Err() != nil {
		return 0, bucketOK, false
	}
	c, found := st.individual(kind)
	if !found {
		return 0, bucketLacksKind, true
	}
	var buf [128]byte // large enough for typical keys: no allocation
	in := buf[:0]
	if seed != nil {
		in = strconv.AppendInt(in, int64(*seed), 10)
	} else {
		in = append(in, key...)
		in = append(in, '.')
		in = append(in, salt...)
	}
	in = append(in, '.')
	if byKey {
		in = append(in, c.Key()...)
		return hashBucket(in), bucketOK, true
	}
	v, found := c.GetValueForRef(bucketBy)
	if !found || v.IsNull() {
		return 0, bucketNoAttribute, true
	}
	switch {
	case v.IsString():
		in = append(in, v.Str()...)
	case v.IsInt():
		in = strconv.AppendInt(in, int64(v.Int()), 10)
	default:
		return 0, bucketWrongType, true
	}
	return hashBucket(in), bucketOK, true
}

// hashBucket turns hash input into a bucket: the first 15 hex digits of
// the SHA-1 (its top 60 bits) divided by 0xFFFFFFFFFFFFFFF, in float32.
func hashBucket(in []byte) float32 {
	sum := sha1.Sum(in) //nolint:gosec
	n := binary.BigEndian.Uint64(sum[:8]) >> 4
	return float32(n) / bucketScale
}

// rolloutVariation picks a variation for a fixed variation or rollout.
// inExperiment is true for an experiment bucket that is tracked (and, as in
// LaunchDarkly, when the context has the rollout's kind, except for the
// catch-all last bucket). ok is false for malformed data: neither variation
// nor rollout, a rollout without buckets, an invalid bucketBy.
func (st *state) rolloutVariation(vr *model.VariationOrRollout, key, salt string) (idx int, inExperiment, ok bool) {
	if vr.Variation != nil {
		return *vr.Variation, false, true
	}
	r := vr.Rollout
	if r == nil || len(r.Variations) == 0 {
		return 0, false, false
	}
	experiment := r.IsExperiment()
	bucket, problem, ok := st.bucketValue(experiment, r.Seed, r.ContextKind, key, salt, r.BucketBy, r.HasBucketBy())
	if !ok {
		return 0, false, false
	}
	var sum float32
	for i := range r.Variations {
		wv := &r.Variations[i]
		sum += float32(wv.Weight) / 100000.0
		if bucket < sum {
			return wv.Variation, experiment && !wv.Untracked && problem != bucketLacksKind, true
		}
	}
	// Past the last bucket (rounding, or weights short of 100%): the last
	// bucket takes the context.
	last := &r.Variations[len(r.Variations)-1]
	return last.Variation, experiment && !last.Untracked, true
}
