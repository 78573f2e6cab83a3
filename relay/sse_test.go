package relay

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAllEvents reads every event, as "name=data" strings, and the error
// that ended the stream.
func readAllEvents(r io.Reader, max int) ([]string, error) {
	p := newSSEReader(r, max)
	var out []string
	for {
		ev, err := p.next()
		if err != nil {
			return out, err
		}
		out = append(out, ev.Name+"="+string(ev.Data))
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one event", "event: put\ndata: {}\n\n", []string{"put={}"}},
		{"default name", "data: x\n\n", []string{"message=x"}},
		{"multi-line data", "event: e\ndata: a\ndata: b\ndata\n\n", []string{"e=a\nb\n"}},
		{"no space after colon", "event:e\ndata:x\n\n", []string{"e=x"}},
		{"only one space is dropped", "data:  x\n\n", []string{"message= x"}},
		{"CRLF", "event: e\r\ndata: x\r\n\r\n", []string{"e=x"}},
		{"CR", "event: e\rdata: x\r\r", []string{"e=x"}},
		{"mixed endings", "event: a\r\ndata: 1\n\revent: b\rdata: 2\r\n\n", []string{"a=1", "b=2"}},
		{"comments", ": hello\n:\nevent: e\n: in between\ndata: x\n\n", []string{"e=x"}},
		{"no data, no event", "event: e\n\ndata: x\n\n", []string{"message=x"}},
		{"unknown fields, id and retry", "id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n", []string{"message=x"}},
		{"byte order mark", "\xEF\xBB\xBFdata: x\n\n", []string{"message=x"}},
		{"incomplete event dropped", "data: x\n\ndata: y\n", []string{"message=x"}},
		{"incomplete line dropped", "data: x\n\ndata: y", []string{"message=x"}},
		{"colon in value", "data: {\"a\":1}\n\n", []string{"message={\"a\":1}"}},
		{"empty data line dispatches", "data\n\n", []string{"message="}},
		{"several events", "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n", []string{"a=1", "b=2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []string{"whole", "bytewise"} {
				var r io.Reader = strings.NewReader(tc.in)
				if mode == "bytewise" {
					r = iotest.OneByteReader(r)
				}
				got, err := readAllEvents(r, 1<<20)
				if !errors.Is(err, io.EOF) {
					t.Fatalf("%s: err = %v, want io.EOF", mode, err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Errorf("%s: got %q, want %q", mode, got, tc.want)
				}
			}
		})
	}
}

func TestSSEReaderSizeLimit(t *testing.T) {
	in := "data: " + strings.Repeat("x", 100) + "\n\n"
	if _, err := readAllEvents(strings.NewReader(in), 50); !errors.Is(err, errSSETooLarge) {
		t.Fatalf("err = %v, want errSSETooLarge", err)
	}
	// Many comment lines (heartbeats) never add up to the limit.
	in = strings.Repeat(":"+strings.Repeat("h", 20)+"\n", 100) + "data: x\n\n"
	got, err := readAllEvents(strings.NewReader(in), 50)
	if !errors.Is(err, io.EOF) || len(got) != 1 {
		t.Fatalf("got %q, %v; want one event", got, err)
	}
}

// An event is dispatched as soon as its blank line has arrived, even when
// it ends with a lone CR and the stream then stays silent.
func TestSSEReaderDoesNotWaitPastLineEnd(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	p := newSSEReader(pr, 1<<20)
	go func() { _, _ = pw.Write([]byte("data: x\r\r")) }()
	ev, err := p.next()
	if err != nil || string(ev.Data) != "x" {
		t.Fatalf("next = %q, %v", ev.Data, err)
	}
}

// FuzzSSE checks that the reader never panics and that how the bytes are
// split into reads never changes the events.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"event: put\ndata: {\"data\":{}}\n\n",
		"data: a\r\ndata: b\r\n\r\n",
		"event: e\rdata: x\r\r:comment\n",
		"\xEF\xBB\xBFdata: x\n\n",
		"\xEF\xBBdata\n\n",
		"data:\n\n\n\n",
		":\n:\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 1 << 16
		whole, errWhole := readAllEvents(bytes.NewReader(in), max)
		split, errSplit := readAllEvents(iotest.OneByteReader(bytes.NewReader(in)), max)
		if (errWhole == nil) != (errSplit == nil) || errors.Is(errWhole, io.EOF) != errors.Is(errSplit, io.EOF) {
			t.Fatalf("errors differ: %v vs %v", errWhole, errSplit)
		}
		if strings.Join(whole, "\x00") != strings.Join(split, "\x00") {
			t.Fatalf("events differ:\n%q\n%q", whole, split)
		}
		for _, e := range whole {
			name, _, _ := strings.Cut(e, "=")
			if strings.ContainsAny(name, "\r\n") {
				t.Fatalf("event name %q holds a line break", name)
			}
		}
	})
}
