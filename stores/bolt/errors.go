package bolt

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/daemonflag/daemonflag/store"
)

// ErrCorrupt reports that a store file is not a valid daemonflag bbolt store:
// truncated, damaged, written by another program, or of an unknown format.
// Errors wrapping it also wrap [store.ErrUnavailable], so a client keeps
// serving its last good values. Reads recover from it as soon as the file is
// repaired in place or a writer publishes a valid one; a full write (Init)
// replaces a corrupt live file, while writes that build on it fail with an
// error saying so (see the package doc).
var ErrCorrupt = errors.New("bolt store file is corrupt")

// ErrReadOnly is returned by the write methods of a store opened with
// [Options.ReadOnly].
var ErrReadOnly = errors.New("bolt store is read-only")

// ErrClosed is returned by every method of a store after Close.
var ErrClosed = errors.New("bolt store is closed")

// corrupt builds an error that wraps both ErrCorrupt and store.ErrUnavailable.
func corrupt(path string, format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s: %s", store.ErrUnavailable, ErrCorrupt, path, fmt.Sprintf(format, args...))
}

// unavailable wraps an I/O error with store.ErrUnavailable.
func unavailable(op, path string, err error) error {
	return fmt.Errorf("%w: bolt %s %s: %w", store.ErrUnavailable, op, path, err)
}

// ErrNotExist reports that the store file of a read-only store does not
// exist: the path is wrong, or no writer has written it yet. Errors wrapping
// it also wrap [fs.ErrNotExist] and [store.ErrUnavailable] and name the
// absolute path. A read-only store keeps looking: it reads the file as soon
// as a writer creates it.
var ErrNotExist = errors.New("bolt store file does not exist")

// notExistError is the error of a read on a read-only store with no file.
type notExistError struct{ path string }

func (e *notExistError) Error() string {
	return fmt.Sprintf("%v: %v: %s", store.ErrUnavailable, ErrNotExist, e.path)
}

func (e *notExistError) Unwrap() []error {
	return []error{ErrNotExist, fs.ErrNotExist, store.ErrUnavailable}
}
