package bolt

import (
	"os"

	bbolt "go.etcd.io/bbolt"
)

// rwDB is a bbolt file the writer opens read-write: the standby slot, or a
// new temporary file. Like a snapshot (see there), a handle that bbolt
// panicked in is never entered again: a panic inside bbolt's Begin leaves
// its writer lock held, and Close would wait for it forever.
type rwDB struct {
	db     *bbolt.DB
	file   *os.File
	path   string
	broken bool
}

// openRW opens path read-write with opts (its OpenFile is replaced).
func openRW(path string, mode os.FileMode, opts bbolt.Options) (*rwDB, error) {
	d := &rwDB{path: path}
	opts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		d.file = f
		return f, err
	}
	err := guarded(path, func() error {
		var err error
		d.db, err = bbolt.Open(path, mode, &opts)
		return err
	})
	if err != nil {
		if isPanic(err) && d.file != nil {
			_ = d.file.Close()
		}
		return nil, err
	}
	return d, nil
}

// do runs fn, which uses d.db, guarded; a panic breaks the handle.
func (d *rwDB) do(fn func() error) error {
	err := guarded(d.path, fn)
	if isPanic(err) {
		d.broken = true
	}
	return err
}

// close closes the file; a broken handle only its descriptor.
func (d *rwDB) close() error {
	if d.broken {
		return d.file.Close()
	}
	err := guarded(d.path, d.db.Close)
	if isPanic(err) {
		_ = d.file.Close()
	}
	return err
}
