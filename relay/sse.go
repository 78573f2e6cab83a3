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
//
// Memory: the value of each "data" line is copied once, from the read
// buffer straight into the event's data, and the reader refuses an event as
// soon as it passes the limit. Each event gets a new data buffer, which the
// caller owns (the relay keeps a dataset's items as slices of it).

// sseEvent is one dispatched event.
type sseEvent struct {
	// Name is the event type: the last "event" field, or "message".
	Name string
	// Data is the "data" fields joined with LF. The caller owns it.
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
	field   []byte // the current line's field name
	data    []byte // the current event's data
	hasData bool   // a data field has been read for the current event
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
	p.reset()
	for {
		colon, err := p.readField()
		if err != nil {
			return sseEvent{}, err
		}
		switch {
		case !colon && len(p.field) == 0: // a blank line
			if !p.hasData {
				// An event without data is not dispatched; its type does
				// not carry over.
				p.reset()
				continue
			}
			name := "message"
			if len(p.name) > 0 {
				name = string(p.name)
			}
			ev := sseEvent{Name: name, Data: p.data}
			p.data = nil // the caller owns it now
			return ev, nil
		case colon && len(p.field) == 0: // a comment
			// Comments (heartbeats) do not count toward the event's size,
			// so a long quiet stream never reaches the limit.
			if err := p.readValue(nil, false, false); err != nil {
				return sseEvent{}, err
			}
			continue
		}
		var dst *[]byte
		switch string(p.field) {
		case "data":
			if p.hasData {
				p.data = append(p.data, '\n')
			}
			p.hasData = true
			dst = &p.data
		case "event":
			p.name = p.name[:0]
			dst = &p.name
		}
		if colon {
			if err := p.readValue(dst, true, true); err != nil {
				return sseEvent{}, err
			}
		}
	}
}

func (p *sseReader) reset() {
	p.data, p.hasData, p.name, p.size = p.data[:0], false, p.name[:0], 0
}

// buffered returns the buffered bytes, reading when there are none, after
// dropping the LF of a CRLF and a byte order mark at the start.
func (p *sseReader) buffered() ([]byte, error) {
	for {
		if p.r.Buffered() == 0 {
			if _, err := p.r.Peek(1); err != nil {
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
		return buf, nil
	}
}

// count adds n bytes to the current event, failing past the limit.
func (p *sseReader) count(n int) error {
	p.size += n
	if p.size > p.max {
		return fmt.Errorf("%w (more than %d bytes)", errSSETooLarge, p.max)
	}
	return nil
}

// readField reads a line's field name into p.field, up to the colon
// (colon true, the rest of the line unread) or the end of the line.
func (p *sseReader) readField() (colon bool, err error) {
	p.field = p.field[:0]
	for {
		buf, err := p.buffered()
		if err != nil {
			return false, err
		}
		i := bytes.IndexAny(buf, ":\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		commentStart := i == 0 && len(p.field) == 0 && buf[0] == ':'
		if !commentStart {
			if err := p.count(n + 1); err != nil {
				return false, err
			}
		}
		p.field = append(p.field, buf[:n]...)
		if i < 0 {
			_, _ = p.r.Discard(n)
			continue
		}
		c := buf[i]
		_, _ = p.r.Discard(i + 1)
		if c == ':' {
			return true, nil
		}
		p.skipLF = c == '\r'
		return false, nil
	}
}

// readValue reads the rest of a line after the colon, less one leading
// space, appending it to *dst (discarding it when dst is nil).
func (p *sseReader) readValue(dst *[]byte, counted, dropSpace bool) error {
	first := true
	for {
		buf, err := p.buffered()
		if err != nil {
			return err
		}
		if first && dropSpace && buf[0] == ' ' {
			buf = buf[1:]
			_, _ = p.r.Discard(1)
			if len(buf) == 0 {
				first = false
				continue
			}
		}
		first = false
		i := bytes.IndexAny(buf, "\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		if counted {
			if err := p.count(n); err != nil {
				return err
			}
		}
		if dst != nil {
			*dst = appendGrow(*dst, buf[:n])
		}
		if i < 0 {
			_, _ = p.r.Discard(n)
			continue
		}
		p.skipLF = buf[i] == '\r'
		_, _ = p.r.Discard(i + 1)
		return nil
	}
}

// appendGrow appends src to dst, doubling dst's capacity when it must grow
// (append grows large slices by a quarter: for a big event that copies the
// data about five times over, doubling about twice).
func appendGrow(dst, src []byte) []byte {
	if need := len(dst) + len(src); need > cap(dst) {
		grown := make([]byte, len(dst), max(2*cap(dst), need, 512))
		copy(grown, dst)
		dst = grown
	}
	return append(dst, src...)
}
