package bolt

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"
)

// Generations, snapshot ids and the change log each file carries.

const (
	// keepGenerations is how many change-log entries a file keeps.
	keepGenerations = 8
	// maxLogChanges bounds one log entry; a bigger write counts as a full
	// rewrite (the next write then copies instead of catching up).
	maxLogChanges = 10000
)

// readMeta returns a file's generation and snapshot id (0, nil: none).
func readMeta(tx *bbolt.Tx) (gen uint64, id []byte) {
	m := tx.Bucket(metaBucket)
	if m == nil {
		return 0, nil
	}
	if v := m.Get(metaGeneration); len(v) == 8 {
		gen = binary.BigEndian.Uint64(v)
	}
	return gen, m.Get(metaSnapshot)
}

// writeMeta stamps tx as generation gen with a new snapshot id and logs the
// generation's changes.
func writeMeta(tx *bbolt.Tx, gen uint64, changes []change, full bool) error {
	m, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	for _, kv := range [][2][]byte{{metaFormat, formatV2}, {metaGeneration, u64(gen)}, {metaSnapshot, id}} {
		if err := m.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if len(changes) > maxLogChanges {
		full = true
	}
	if full && m.Bucket(metaChanges) != nil {
		if err := m.DeleteBucket(metaChanges); err != nil {
			return err
		}
	}
	log, err := m.CreateBucketIfNotExists(metaChanges)
	if err != nil {
		return err
	}
	e := logEntry{id: id, full: full}
	if !full {
		e.changes = changes
	}
	if err := log.Put(u64(gen), encodeLogEntry(e)); err != nil {
		return err
	}
	// Drop old entries; keys are big-endian, so they sort by generation.
	c := log.Cursor()
	for k, _ := c.First(); k != nil && len(k) == 8 && binary.BigEndian.Uint64(k)+keepGenerations <= gen; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// A change names one key a write touched: the bucket path from the root and
// the key. The change log (see the package doc) records them per generation
// so that a standby file can be brought up to date by copying just those keys.
type change struct {
	path [][]byte
	key  []byte
}

// logEntry is one generation's record in the change log.
type logEntry struct {
	id      []byte // the snapshot id of the file state this generation produced
	full    bool   // the generation rewrote everything (Init): no catch-up across it
	changes []change
}

func encodeLogEntry(e logEntry) []byte {
	b := binary.AppendUvarint(nil, uint64(len(e.id)))
	b = append(b, e.id...)
	if e.full {
		return append(b, 1)
	}
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(e.changes)))
	for _, c := range e.changes {
		b = binary.AppendUvarint(b, uint64(len(c.path)))
		for _, p := range c.path {
			b = binary.AppendUvarint(b, uint64(len(p)))
			b = append(b, p...)
		}
		b = binary.AppendUvarint(b, uint64(len(c.key)))
		b = append(b, c.key...)
	}
	return b
}

func decodeLogEntry(v []byte) (logEntry, error) {
	d := decoder{b: v}
	var e logEntry
	e.id = slices.Clone(d.bytes())
	if d.err == nil && len(d.b) == 0 {
		d.err = errors.New("truncated")
	}
	if d.err != nil {
		return logEntry{}, fmt.Errorf("change log entry: %w", d.err)
	}
	full := d.b[0]
	d.b = d.b[1:]
	switch full {
	case 1:
		e.full = true
	case 0:
	default:
		return logEntry{}, errors.New("change log entry: bad kind")
	}
	if e.full {
		if len(d.b) != 0 {
			return logEntry{}, errors.New("change log entry: trailing bytes")
		}
		return e, nil
	}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = errors.New("count past end")
	}
	for i := uint64(0); d.err == nil && i < n; i++ {
		var c change
		np := d.uvarint()
		if d.err == nil && np > uint64(len(d.b)) {
			d.err = errors.New("count past end")
		}
		for j := uint64(0); d.err == nil && j < np; j++ {
			c.path = append(c.path, slices.Clone(d.bytes()))
		}
		c.key = slices.Clone(d.bytes())
		e.changes = append(e.changes, c)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return logEntry{}, fmt.Errorf("change log entry: %w", d.err)
	}
	return e, nil
}
