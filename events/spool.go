package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// spool keeps undelivered payloads in a directory, one file each, named
// "<sequence>-<events>-<count>-<payload id>.json" so that the order, the
// event counts (without and with the summary) and the payload ID survive a
// restart. Files are written to a
// temporary name, synced and renamed, so a crash leaves no partial
// payload. It is used only by the processor's goroutine.
type spool struct {
	dir      string
	maxBytes int64
	files    []spoolFile // oldest first
	bytes    int64
	nextSeq  uint64
}

type spoolFile struct {
	name   string
	seq    uint64
	events int
	count  int
	id     string
	size   int64
}

func openSpool(dir string, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("events: spool directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("events: spool directory: %w", err)
	}
	sp := &spool{dir: dir, maxBytes: maxBytes}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(dir, name)) // a write cut short
			continue
		}
		f, ok := parseSpoolName(name)
		if !ok {
			continue // not ours: leave it
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		f.size = info.Size()
		sp.files = append(sp.files, f)
		sp.bytes += f.size
		sp.nextSeq = max(sp.nextSeq, f.seq+1)
	}
	slices.SortFunc(sp.files, func(a, b spoolFile) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return sp, nil
}

func parseSpoolName(name string) (spoolFile, bool) {
	base, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return spoolFile{}, false
	}
	parts := strings.SplitN(base, "-", 4)
	if len(parts) != 4 {
		return spoolFile{}, false
	}
	seq, err1 := strconv.ParseUint(parts[0], 10, 64)
	n, err2 := strconv.Atoi(parts[1])
	c, err3 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || n < 0 || c < n || len(parts[3]) != 36 {
		return spoolFile{}, false
	}
	return spoolFile{name: name, seq: seq, events: n, count: c, id: parts[3]}, true
}

var errSpoolFull = errors.New("events: spool is full")

// put writes a payload; errSpoolFull when it would exceed the bound.
func (sp *spool) put(p *payload) error {
	size := int64(len(p.body))
	if sp.bytes+size > sp.maxBytes {
		return errSpoolFull
	}
	f := spoolFile{seq: sp.nextSeq, events: p.events, count: p.count, id: p.id, size: size}
	f.name = fmt.Sprintf("%020d-%d-%d-%s.json", f.seq, f.events, f.count, f.id)
	tmp := filepath.Join(sp.dir, f.name+".tmp")
	if err := writeSynced(tmp, p.body); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("events: spool: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(sp.dir, f.name)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("events: spool: %w", err)
	}
	sp.nextSeq++
	sp.files = append(sp.files, f)
	sp.bytes += size
	return nil
}

func writeSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// errCorruptSpool is returned by oldest for a spooled file that is not a
// JSON array (a damaged disk, or a hand edit): the file is renamed to
// NAME.corrupt, kept for inspection, and skipped.
var errCorruptSpool = errors.New("events: a spooled payload is not a JSON array; it is kept as .corrupt and skipped")

// oldest reads the oldest spooled payload; ok is false when the spool is
// empty. A file that cannot be read is an error (it stays, and is retried);
// a corrupt one is set aside (errCorruptSpool, with the removed file's
// event count).
func (sp *spool) oldest() (p *payload, ok bool, err error) {
	if len(sp.files) == 0 {
		return nil, false, nil
	}
	f := sp.files[0]
	path := filepath.Join(sp.dir, f.name)
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("events: spool: %w", err)
	}
	if len(body) == 0 || body[0] != '[' || !json.Valid(body) {
		sp.files = sp.files[1:]
		sp.bytes -= f.size
		if rerr := os.Rename(path, path+".corrupt"); rerr != nil {
			_ = os.Remove(path)
		}
		return &payload{id: f.id, events: f.events, count: f.count, spooled: true}, false,
			fmt.Errorf("%w: %s", errCorruptSpool, f.name)
	}
	return &payload{id: f.id, body: body, events: f.events, count: f.count, spooled: true}, true, nil
}

// removeOldest deletes the oldest spooled payload.
func (sp *spool) removeOldest() error {
	f := sp.files[0]
	sp.files = sp.files[1:]
	sp.bytes -= f.size
	if err := os.Remove(filepath.Join(sp.dir, f.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("events: spool: %w", err)
	}
	return nil
}

// eventCount is the number of events in spooled payloads.
func (sp *spool) eventCount() int {
	n := 0
	for _, f := range sp.files {
		n += f.events
	}
	return n
}
