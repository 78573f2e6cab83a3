package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/daemonflag/daemonflag/evalctx"
)

// SecureModeHash returns the secure-mode hash of the context ec, which a
// LaunchDarkly client-side SDK in secure mode sends with the context: the
// hex-encoded HMAC-SHA256 of ec's fully-qualified key (its key for a single
// context of kind "user", "kind:key" otherwise, see
// evalctx.Context.FullyQualifiedKey) with Config.SecureModeKey as the key.
// It returns "" when SecureModeKey is empty or ec is invalid, rather than a
// hash no front end could verify.
func (c *Client) SecureModeHash(ec evalctx.Context) string {
	if len(c.secureKey) == 0 || ec.Err() != nil {
		return ""
	}
	h := hmac.New(sha256.New, c.secureKey)
	h.Write([]byte(ec.FullyQualifiedKey()))
	return hex.EncodeToString(h.Sum(nil))
}
