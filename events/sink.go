package events

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// Payload is one batch of events as it is sent: a JSON array of events in
// LaunchDarkly's format.
type Payload struct {
	// ID is the payload's UUID (X-LaunchDarkly-Payload-ID); the same on
	// every attempt to deliver this payload.
	ID string
	// Events is the JSON array, uncompressed, without a trailing newline.
	Events []byte
	// Count is the number of events in Events, the summary event included.
	Count int
	// Unsummarized is true when the events are for the receiver to
	// summarize (Config.Unsummarized).
	Unsummarized bool
}

// Sink receives payloads instead of an HTTP endpoint (Config.Sink), for a
// site where nothing may be sent over the network. WritePayload is called
// from the processor's one background goroutine, never concurrently, in
// payload order. An error counts as a failed delivery: the payload is
// retried once after 1 s, then spooled or kept in memory like a payload an
// endpoint did not accept, and tried again at the next flush.
type Sink interface {
	WritePayload(ctx context.Context, p Payload) error
}

// FileSinkOptions configures [NewFileSink]. Zero values are the
// documented defaults.
type FileSinkOptions struct {
	// Path is the file payloads are appended to, one JSON array per line.
	// Required.
	Path string
	// MaxBytes is the size past which the file is rotated: it is renamed
	// to Path.1 (Path.1 to Path.2, and so on) and a new file is started.
	// Zero: 64 MiB.
	MaxBytes int64
	// MaxFiles is how many rotated files are kept; older ones are removed.
	// Zero: 5.
	MaxFiles int
}

// FileSink writes payloads as JSON lines (one payload's event array per
// line) to a file rotated by size. Create one with [NewFileSink]; it is safe
// for concurrent use. Each line is written with one write call and synced
// to disk, so a crash loses at most the line being written.
type FileSink struct {
	opts FileSinkOptions
	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewFileSink opens (or creates) the file. The directory must exist.
func NewFileSink(opts FileSinkOptions) (*FileSink, error) {
	if opts.Path == "" {
		return nil, errors.New("events: FileSinkOptions.Path is empty")
	}
	if opts.MaxBytes < 0 || opts.MaxFiles < 0 {
		return nil, errors.New("events: FileSinkOptions.MaxBytes and MaxFiles must not be negative")
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 64 << 20
	}
	if opts.MaxFiles == 0 {
		opts.MaxFiles = 5
	}
	s := &FileSink{opts: opts}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FileSink) open() error {
	f, err := os.OpenFile(s.opts.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("events: file sink: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("events: file sink: %w", err)
	}
	s.f, s.size = f, st.Size()
	return nil
}

// WritePayload appends p.Events and a newline, rotating first when the
// line would take the file past MaxBytes (a line larger than MaxBytes gets
// a file of its own).
func (s *FileSink) WritePayload(_ context.Context, p Payload) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("events: file sink is closed")
	}
	line := make([]byte, 0, len(p.Events)+1)
	line = append(append(line, p.Events...), '\n')
	if s.size > 0 && s.size+int64(len(line)) > s.opts.MaxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	n, err := s.f.Write(line)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("events: file sink: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("events: file sink: %w", err)
	}
	return nil
}

func (s *FileSink) rotate() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("events: file sink: %w", err)
	}
	s.f = nil
	name := func(i int) string { return s.opts.Path + "." + strconv.Itoa(i) }
	_ = os.Remove(name(s.opts.MaxFiles))
	for i := s.opts.MaxFiles - 1; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("events: file sink: %w", err)
		}
	}
	if err := os.Rename(s.opts.Path, name(1)); err != nil {
		return fmt.Errorf("events: file sink: %w", err)
	}
	return s.open()
}

// Close closes the file. Later writes fail.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
