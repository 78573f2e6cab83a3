package openfeature

import (
	"context"
	"strings"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/membership"
)

// TestBigSegmentsOption: with Options.BigSegments the store NewFromAddress
// opens also answers big-segment memberships, and the metadata carries
// their status; without it big segments are not configured.
func TestBigSegmentsOption(t *testing.T) {
	const flags = `{"segments": {"vips": {"key": "vips", "version": 1, "unbounded": true, "generation": 2, "salt": "v"}},
	  "flags": {"vip-lounge": {"key": "vip-lounge", "on": true, "variations": [false, true], "offVariation": 0, "salt": "l",
	    "rules": [{"id": "vips", "variation": 1, "clauses": [{"attribute": "", "op": "segmentMatch", "values": ["vips"]}]}],
	    "fallthrough": {"variation": 0}}}}`
	file := t.TempDir() + "/flags.json"
	if err := writeFileT(file, flags); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		on     bool
		value  bool
		status string
	}{{"on", true, true, "HEALTHY"}, {"off", false, false, "NOT_CONFIGURED"}} {
		t.Run(tc.name, func(t *testing.T) {
			// The writer fills the store before the provider opens it, so its
			// first big-segment status poll sees the import's time.
			w := newFixture(t, Options{}, file)
			if _, err := membership.Import(context.Background(), w.w, membership.Options{
				Segment: "vips", Generation: 2, Include: strings.NewReader("ann\n")}); err != nil {
				t.Fatal(err)
			}
			p, err := NewFromAddress(context.Background(), "bolt:"+w.path, client.Config{Logger: quietLogger()}, Options{BigSegments: tc.on, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{p: p, api: isolated.NewAPI()}
			t.Cleanup(func() { f.api.Shutdown(context.Background()) })
			f.start(t)
			d, err := f.client.BooleanValueDetails(context.Background(), "vip-lounge", false, of.NewEvaluationContext("ann", nil))
			if err != nil {
				t.Fatal(err)
			}
			if d.Value != tc.value || d.FlagMetadata[MetaBigSegmentsStatus] != tc.status {
				t.Errorf("value %v, metadata %v; want %v with bigSegmentsStatus %s", d.Value, d.FlagMetadata, tc.value, tc.status)
			}
		})
	}
}
