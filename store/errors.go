package store

import "errors"

// ErrUnavailable reports that a store could not be reached or did not answer.
// Backends wrap their transport errors with it, so callers can test
// errors.Is(err, store.ErrUnavailable).
var ErrUnavailable = errors.New("store unavailable")

// ErrNotInitialized reports that a store holds no complete dataset: no writer
// has written one yet, or the configured prefix is not the writer's.
var ErrNotInitialized = errors.New("store not initialized")

// ErrMalformedItem reports that a stored item is not valid JSON or lacks a
// valid version. Backends wrap it with the kind and key of the item.
var ErrMalformedItem = errors.New("malformed store item")

// ErrInitInProgress reports that a writer has started replacing the dataset
// and not finished: on a backend without multi-item atomic writes
// (DynamoDB) the store then holds a mix of the old and the new dataset.
// Readers keep serving what they had until the writer, or a rerun of it,
// completes the init.
var ErrInitInProgress = errors.New("store init in progress")
