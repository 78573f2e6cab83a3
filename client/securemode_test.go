package client_test

import (
	"testing"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
)

func TestSecureModeHash(t *testing.T) {
	c, err := client.New(client.Config{Offline: true, SecureModeKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cases := []struct {
		name string
		ec   evalctx.Context
		want string
	}{
		// HMAC-SHA256("secret", "Message"), the value LaunchDarkly's SDKs test.
		{"user", evalctx.New("Message"), "aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597"},
		// Other kinds hash "kind:key" with ':' and '%' escaped.
		{"other kind", evalctx.NewWithKind("org", "Message"), "a045e65c6d23bda4559ed4f2371a2508ce63016ceff58b00aa07b435e2bfedaa"},
		{"escaped key", evalctx.NewWithKind("org", "a:b"), "b5eb54c16098ee08cfc6c4776b98d06edecc0ecc8fb82a808ef2c0acb6c85f88"},
		{"invalid context", evalctx.Context{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.SecureModeHash(tc.ec); got != tc.want {
				t.Errorf("SecureModeHash = %q, want %q", got, tc.want)
			}
		})
	}
	noKey, _ := client.New(client.Config{Offline: true})
	if got := noKey.SecureModeHash(evalctx.New("Message")); got != "" {
		t.Errorf("without a key: %q, want \"\"", got)
	}
}
