package relay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode checks the event decoders (the grammar itself is
// internal/jsontok's, fuzzed there against encoding/json): compaction in
// place gives json.Compact's bytes, the decoders never panic, and every item
// they return is valid JSON with a key.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"path":"/","data":{"flags":{"a":{"key":"a","version":1}},"segments":{}}}`,
		`{"path":"/flags/a","data":{ "key" : "a" , "version" : 2 }}`,
		`{"path":"/flags/a","version":3}`,
		`[1, 2.5e3, "x\"y", null, true, false, {}]`,
		`{"data":{"flags":{"":{"version":1}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if utf8.Valid(in) {
			if json.Valid(in) {
				var want bytes.Buffer
				_ = json.Compact(&want, in)
				got := bytes.Clone(in)
				got = got[:compactInPlace(got)]
				if !bytes.Equal(got, want.Bytes()) {
					t.Fatalf("compacted %q, want %q", got, want.Bytes())
				}
			}
		}
		for _, parse := range []func([]byte) (change, error){parsePut, parsePatch, parseDelete, parseAllData} {
			ch, err := parse(bytes.Clone(in))
			if err != nil {
				continue
			}
			for _, c := range ch.all {
				for _, it := range c.Items {
					if !json.Valid(it.Item.Data) || it.Key == "" {
						t.Fatalf("item %q: %q", it.Key, it.Item.Data)
					}
				}
			}
		}
	})
}

// BenchmarkRelayPut reads and decodes a 5 MB "put" event; alloc/event is
// the bytes allocated per byte of event (the buffer's growth included: the
// peak is lower, see TestRelayEventMemory).
func BenchmarkRelayPut(b *testing.B) {
	var ev bytes.Buffer
	ev.WriteString("event: put\ndata: {\"path\":\"/\",\"data\":{\"segments\":{},\"flags\":{")
	for i := 0; ev.Len() < 5<<20; i++ {
		if i > 0 {
			ev.WriteByte(',')
		}
		fmt.Fprintf(&ev, `"flag-%d":{"key":"flag-%d","version":3,"on":true,"salt":"%s","variations":[false,true],"fallthrough":{"variation":1}}`,
			i, i, strings.Repeat("x", 300))
	}
	ev.WriteString("}}}\n\n")
	data := ev.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var m1, m2 runtimeMem
	m1.read()
	for b.Loop() {
		e, err := newSSEReader(bytes.NewReader(data), 64<<20).next()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parsePut(e.Data); err != nil {
			b.Fatal(err)
		}
	}
	m2.read()
	b.ReportMetric(float64(m2.total-m1.total)/float64(b.N)/float64(len(data)), "alloc/event")
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}
