package relay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// This file is a reader of the server-sent events wire format (the HTML
// Living Standard's "text/event-stream"), as much of it as a relay needs:
// lines end with LF, CR or CRLF; a blank line dispatches the event; "event"
// names it, "data" lines are joined with LF; lines starting with ':' are
// comments (LaunchDarkly sends them as heartbeats); "id" and "retry" are
// read and ignored, as are unknown fields; a UTF-8 byte order mark at the
// start is skipped; an event cut off by the end of the stream is dropped.

// sseEvent is one dispatched event.
type sseEvent struct {
	// Name is the event type: the last "event" field, or "message".
	Name string
	// Data is the "data" fields joined with LF. It is only valid until the
	// next call of next.
	Data []byte
}

// errSSETooLarge reports an event (or a line) above the reader's limit.
var errSSETooLarge = errors.New("server-sent event too large")

// sseReader reads events from a stream. It never blocks waiting for bytes
// beyond the end of a line, so an event is dispatched as soon as its blank
// line arrives, whatever the line endings.
type sseReader struct {
	r       *bufio.Reader
	max     int    // limit on the bytes of one event (its lines, separators included)
	line    []byte // the current line
	data    []byte // the current event's data
	name    []byte // the current event's type
	size    int    // bytes of the current event read so far
	skipLF  bool   // the previous line ended with CR: a following LF belongs to it
	started bool   // the byte order mark check is done
}

func newSSEReader(r io.Reader, maxEvent int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), max: maxEvent}
}

// next returns the next event. It returns io.EOF when the stream ends
// (dropping an incomplete event), errSSETooLarge for an event above the
// limit, or the underlying reader's error.
func (p *sseReader) next() (sseEvent, error) {
	p.data, p.name, p.size = p.data[:0], p.name[:0], 0
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if len(p.data) == 0 {
				// An event without data is not dispatched; its type
				// does not carry over.
				p.name, p.size = p.name[:0], 0
				continue
			}
			name := "message"
			if len(p.name) > 0 {
				name = string(p.name)
			}
			return sseEvent{Name: name, Data: p.data[:len(p.data)-1]}, nil
		}
		if line[0] == ':' {
			// Comments (heartbeats) do not count toward the event's size,
			// so a long quiet stream never reaches the limit.
			p.size -= len(line) + 1
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			p.name = append(p.name[:0], value...)
		case "data":
			p.data = append(p.data, value...)
			p.data = append(p.data, '\n')
		}
	}
}

// readLine returns the next line without its line ending. The slice is
// only valid until the next call.
func (p *sseReader) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		if p.r.Buffered() == 0 {
			if _, err := p.r.Peek(1); err != nil {
				if err == io.EOF && len(p.line) > 0 {
					// A last line without its ending cannot complete an
					// event: the event is dropped either way.
					return nil, io.EOF
				}
				return nil, err
			}
		}
		buf, _ := p.r.Peek(p.r.Buffered())
		if p.skipLF {
			p.skipLF = false
			if buf[0] == '\n' {
				_, _ = p.r.Discard(1)
				continue
			}
		}
		if !p.started {
			// Wait for enough bytes to tell a byte order mark.
			if len(buf) < 3 && bytes.HasPrefix([]byte("\xEF\xBB\xBF"), buf) {
				if _, err := p.r.Peek(3); err == nil {
					continue
				}
			}
			p.started = true
			if bytes.HasPrefix(buf, []byte("\xEF\xBB\xBF")) {
				_, _ = p.r.Discard(3)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		p.size += n
		if p.size > p.max {
			return nil, fmt.Errorf("%w (more than %d bytes)", errSSETooLarge, p.max)
		}
		p.line = append(p.line, buf[:n]...)
		if i < 0 {
			_, _ = p.r.Discard(n)
			continue
		}
		p.size++ // the line ending
		p.skipLF = buf[i] == '\r'
		_, _ = p.r.Discard(i + 1)
		return p.line, nil
	}
}
