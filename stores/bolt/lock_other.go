//go:build !unix

package bolt

import (
	"errors"
	"os"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// fileLock takes the writer lock by opening the lock file as a small bbolt
// database read-write, which bbolt locks exclusively on every platform it
// supports.
type fileLock struct {
	path string
	mode os.FileMode
	db   *bbolt.DB
}

func openLock(path string, mode os.FileMode) (*fileLock, error) {
	return &fileLock{path: path, mode: mode}, nil
}

func (l *fileLock) tryLock() (bool, error) {
	db, err := bbolt.Open(l.path, l.mode, &bbolt.Options{Timeout: time.Nanosecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l.db = db
	return true, nil
}

func (l *fileLock) unlock() error {
	db := l.db
	l.db = nil
	if db == nil {
		return nil
	}
	return db.Close()
}

func (l *fileLock) close() error {
	return l.unlock()
}
