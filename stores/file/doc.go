// Package file is a read-only store whose data is flag data files: the
// files are loaded into memory when the store opens and again whenever they
// change, and clients read them through the store contracts like any other
// backend. Its address is file:PATH[,PATH...] (see package stores).
//
// # Format
//
// The files are LaunchDarkly's flag data file format, JSON or YAML, with
// "flags", "segments" and "flagValues" sections (see package writer). Several
// files are merged; a key defined in two of them is an error unless
// [Options.KeepFirstDuplicates] is set. Loading, validation and versioning
// are the writer's own: the store runs [writer.Sync] into an in-memory store
// ([memstore.Store]), so a file is accepted here exactly when
// `daemonflag validate` and `daemonflag sync` accept it, and items are
// stored as the writer stores them (canonical JSON; a changed item gets a
// higher version; a removed item a tombstone).
//
// # Reloading
//
// The store watches the files' directories (fsnotify), so a file written in
// place, replaced by an editor's rename, or switched by a Kubernetes
// ConfigMap update (the "..data" symbolic link swap) is seen at once; after
// a notification it waits [Options.Settle] for more writes before reading,
// so that a file is not read half-written. Files are also polled every
// [Options.PollInterval] as a safety net (and alone with [Options.PollOnly]).
// A reload is applied as one batch (the writer's [store.Batcher] write,
// which the in-memory store applies under one lock), so a reader sees all
// of an edit or none of it. Every changed item is announced at once to
// [store.Notifier] subscribers.
//
// # Bad edits
//
// An edit that makes the files invalid (a syntax error, a flag that does
// not validate, a deleted file, or a change deleting most flags, which the
// writer refuses unless [Options.AllowDelete]) does not replace the
// dataset: the last good one stays in memory. Until the files are valid
// again every read, Ping and Initialized returns an error matching
// [ErrInvalidFiles] and store.ErrUnavailable that says why, in the
// writer's form (file:line:column: problem); errors.As finds the
// *writer.ValidationError with every problem. A client's cache therefore
// keeps serving the values it holds and reports the error in
// client.DataStoreStatus, and returns to Available on the next good edit.
// [Store.Status] gives the same without a client.
//
// # When to use it
//
// A file store suits one process, or a few, whose flags come from files
// shipped by configuration management (Ansible, a Kubernetes ConfigMap) or
// edited during local development: no writer process and no database to
// run. Every process reads and watches the files itself, holds the whole
// dataset in memory and has no big-segment store. When many processes on a
// host share the data, when big segments are needed, or when the data comes
// from LaunchDarkly or another writer, use a bbolt file (or Redis, or
// DynamoDB) filled by `daemonflag sync`: one process watches the files and
// readers share one store.
package file
