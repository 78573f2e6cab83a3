//go:build unix

package bolt

import (
	"errors"
	"os"
	"syscall"
)

// fileLock is an exclusive flock(2) on the writer lock file. flock locks
// belong to an open file description, so two Store instances in one process
// exclude each other just as two processes do.
type fileLock struct {
	f *os.File
}

func openLock(path string, mode os.FileMode) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, err
	}
	return &fileLock{f: f}, nil
}

// tryLock takes the lock if it is free; it reports false when another holder
// has it.
func (l *fileLock) tryLock() (bool, error) {
	for {
		err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return false, err
		}
	}
}

func (l *fileLock) unlock() error {
	return syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
}

func (l *fileLock) close() error {
	return l.f.Close()
}
