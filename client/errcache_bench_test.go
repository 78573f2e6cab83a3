package client_test

import (
	"errors"
	"testing"

	"github.com/daemonflag/daemonflag/client"
)

// BenchmarkErrorResultsNoAlloc: variation calls that end in an error reason
// without a cause (a flag not found, a malformed flag, a wrong type) make
// no allocation once the same flag and kind were seen.
func BenchmarkErrorResultsNoAlloc(b *testing.B) {
	e := newEnv(b)
	e.init([]string{benchFlag(),
		`{"key":"bad-index","version":1,"on":true,"variations":[true],"fallthrough":{"variation":5}}`}, nil)
	c := e.client(client.Config{})
	if err := c.WaitForInitialization(bg); err != nil {
		b.Fatal(err)
	}
	check := func() {
		if _, err := c.BoolVariation("no-such-flag", benchContext, false); !errors.Is(err, client.ErrFlagNotFound) {
			b.Fatalf("missing flag: %v", err)
		}
		if _, err := c.BoolVariation("bad-index", benchContext, false); !errors.Is(err, client.ErrMalformedFlag) {
			b.Fatalf("malformed flag: %v", err)
		}
		if _, err := c.StringVariation("bench-flag", benchContext, ""); !errors.Is(err, client.ErrWrongType) {
			b.Fatalf("wrong type: %v", err)
		}
	}
	for range 10 {
		check()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		check()
	}
}
