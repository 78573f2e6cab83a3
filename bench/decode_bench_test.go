package bench

import (
	"fmt"
	"testing"

	"github.com/daemonflag/daemonflag/model"
)

// Item 7: decoding flag and segment JSON, ours (model.DecodeFlag and
// DecodeSegment, which also preprocess) against LaunchDarkly's ldmodel JSON
// serialization (which preprocesses too).

// decodeCases are the documents decoded: a small flag, a typical flag, a
// flag with 1,000 targets, a segment with rules and one with 1,000 keys.
func decodeCases() []struct{ name, doc string } {
	_, flags, segments := benchData()
	typical := manyFlags("decode", 1)["decode-00000"]
	return []struct{ name, doc string }{
		{"flag-small", flags["bench-fallthrough"]},
		{"flag-typical", typical},
		{"flag-regex-rule", flags["bench-rule-matches"]},
		{"flag-targets-1000", flags["bench-targets-1000"]},
		{"segment-rules", segments["seg-rule"]},
		{"segment-keys-1000", segments["seg-included"]},
	}
}

func BenchmarkDecode(b *testing.B) {
	cases := decodeCases()
	for _, c := range cases {
		data := []byte(c.doc)
		isFlag := c.name[:4] == "flag"
		// Both must accept the document.
		var oerr, lerr error
		if isFlag {
			_, oerr = model.DecodeFlag(data)
			_, lerr = decodeLDFlag(data)
		} else {
			_, oerr = model.DecodeSegment(data)
			_, lerr = decodeLDSegment(data)
		}
		if oerr != nil || lerr != nil {
			b.Fatalf("%s: ours: %v; LaunchDarkly: %v", c.name, oerr, lerr)
		}
	}
	for _, side := range []string{"ours", "ld"} {
		b.Run(side, func(b *testing.B) {
			for _, c := range cases {
				data := []byte(c.doc)
				isFlag := c.name[:4] == "flag"
				b.Run(c.name, func(b *testing.B) {
					b.ReportAllocs()
					var err error
					for b.Loop() {
						switch {
						case side == "ours" && isFlag:
							_, err = model.DecodeFlag(data)
						case side == "ours":
							_, err = model.DecodeSegment(data)
						case isFlag:
							_, err = decodeLDFlag(data)
						default:
							_, err = decodeLDSegment(data)
						}
					}
					if err != nil {
						b.Fatal(fmt.Errorf("%s: %w", c.name, err))
					}
				})
			}
		})
	}
}
