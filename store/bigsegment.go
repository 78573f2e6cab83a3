package store

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"unsafe"
)

// ContextHashLen is the length of a [ContextHash]: standard padded base64 of
// a 32-byte SHA-256 sum.
const ContextHashLen = 44

// ContextHash returns the key under which big-segment stores keep the
// membership of the context with the given key: the standard, padded base64
// encoding of the SHA-256 sum of the key's UTF-8 bytes. It is the hash
// LaunchDarkly's SDKs and Relay Proxy use, so stores they write are read
// correctly and the other way round.
//
//	ContextHash("user-key") == "CEXjZY7cHJG/ydFy7q4+YEFwVrG3/pkJwA4FAjrbfx0="
func ContextHash(key string) string {
	var buf [ContextHashLen]byte
	return string(AppendContextHash(buf[:0], key))
}

// AppendContextHash appends [ContextHash](key) to dst and returns the
// extended slice. With a dst of capacity [ContextHashLen] it does not
// allocate.
func AppendContextHash(dst []byte, key string) []byte {
	// sha256.Sum256 only reads its argument, so viewing the string's bytes
	// in place is safe and saves a copy per key.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(key), len(key)))
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// SegmentRef returns the reference to one generation of a big segment as
// stored in memberships: "<segmentKey>.g<generation>".
func SegmentRef(segmentKey string, generation int) string {
	return segmentKey + ".g" + strconv.Itoa(generation)
}
