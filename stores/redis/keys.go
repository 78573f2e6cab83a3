package redis

import (
	"strings"

	"github.com/daemonflag/daemonflag/store"
)

// Key names after the prefix and its colon, as LaunchDarkly's Redis
// integrations and Relay Proxy spell them.
const (
	initedSuffix     = "$inited"
	includeSuffix    = "big_segment_include:"
	excludeSuffix    = "big_segment_exclude:"
	syncedOnSuffix   = "big_segments_synchronized_on"
	lastWriteSuffix  = "$last_write" // daemonflag's: Unix ms of the last write
	writeMarkSuffix  = "$write_mark" // daemonflag's: a random token per write
	changesSuffix    = "$changes"    // daemonflag's: the change-notification channel
	tempInitInfix    = ":init:"      // after "{<key>}" in a temporary Init key
	tempInitTTLSecs  = 3600          // a temporary key left by a killed writer expires
	globSpecialChars = `*?[]\`
)

// keys computes the Redis key names of one dataset.
type keys struct {
	prefix    string
	features  string
	segments  string
	inited    string
	syncedOn  string
	lastWrite string
	writeMark string
	changes   string // pub/sub channel
	include   string // prefix of include-set keys, before the context hash
	exclude   string // prefix of exclude-set keys
	// features and segments as command arguments, boxed once (see boxedKind)
	featuresArg, segmentsArg any
}

func newKeys(prefix string) keys {
	p := prefix + ":"
	k := keys{
		prefix:    prefix,
		features:  p + string(store.Features),
		segments:  p + string(store.Segments),
		inited:    p + initedSuffix,
		syncedOn:  p + syncedOnSuffix,
		lastWrite: p + lastWriteSuffix,
		writeMark: p + writeMarkSuffix,
		changes:   p + changesSuffix,
		include:   p + includeSuffix,
		exclude:   p + excludeSuffix,
	}
	k.featuresArg, k.segmentsArg = k.features, k.segments
	return k
}

// boxedKind is kind(kind) as a command argument: for the two kinds of the
// dataset, an interface value made once, so a read does not allocate one.
func (k *keys) boxedKind(kind store.Kind) any {
	switch kind {
	case store.Features:
		return k.featuresArg
	case store.Segments:
		return k.segmentsArg
	}
	return k.kind(kind)
}

// kind returns the hash key of a kind's collection: "<prefix>:features".
func (k keys) kind(kind store.Kind) string {
	switch kind {
	case store.Features:
		return k.features
	case store.Segments:
		return k.segments
	}
	return k.prefix + ":" + string(kind)
}

// hashTag returns the hash tag Redis Cluster would use for key: the text
// between the first "{" and the first "}" after it, when that is not empty.
func hashTag(key string) (string, bool) {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return "", false
	}
	n := strings.IndexByte(key[open+1:], '}')
	if n <= 0 {
		return "", false
	}
	return key[open+1 : open+1+n], true
}

// globEscape escapes s for use in a SCAN MATCH pattern.
func globEscape(s string) string {
	if !strings.ContainsAny(s, globSpecialChars) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(globSpecialChars, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
