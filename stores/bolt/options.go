package bolt

import (
	"os"
	"time"
)

// DefaultPath is the store file Open uses when given an empty path: a file
// in the working directory.
const DefaultPath = "daemonflag.db"

// DefaultPrefix is the dataset name used when [Options.Prefix] is empty. It is
// the default prefix of LaunchDarkly's Redis and DynamoDB layouts.
const DefaultPrefix = "launchdarkly"

// Options configures a [Store]. A nil *Options or the zero value gives every
// documented default.
type Options struct {
	// Prefix names the dataset inside the file, so several environments can
	// share one file. Zero: [DefaultPrefix]. A prefix must not begin with '$'.
	Prefix string

	// ReadOnly makes the write methods return [ErrReadOnly]. A read-only store
	// never creates a file or directory, so it works on a read-only
	// directory. Client processes should set it. Zero: the store reads and
	// writes.
	ReadOnly bool

	// Timeout is how long a call waits for a file lock: a write for the
	// writer lock (another writer's Init of a large dataset may hold it for
	// a while), a read in the rare case that it races a writer to a file that
	// has just stopped being live. Zero: 10 seconds. Negative: try once.
	Timeout time.Duration

	// CheckInterval is how often a read checks whether a writer has published
	// a new file, with one stat(2) of the path (about 0.5 µs). A read may see
	// data up to CheckInterval old. Zero: every read checks, so a read always
	// sees the latest published dataset.
	CheckInterval time.Duration

	// ReleaseInterval is how often an idle store checks, in the background,
	// for a newer file and lets go of the one it holds. A writer updates the
	// previous file in place only once no reader holds it (otherwise it
	// copies the whole file, see the package doc), so readers that do not
	// read for a while should still let go. Zero: 250 ms. Negative: no
	// background check.
	ReleaseInterval time.Duration

	// StandbyWait is how long a write waits for readers to let go of the
	// standby file before it copies the live file instead. Zero: 5 ms.
	// Negative: never wait.
	StandbyWait time.Duration

	// NoSync skips fsync(2) of written files and of the directory. Writes get
	// faster and survive a crash of any process, SIGKILL included, but not
	// an operating system crash or power loss. Zero: every write is durable
	// when it returns.
	NoSync bool

	// FileMode is the permission of files the store creates. Zero: 0644, so
	// reader processes of other users can read the store.
	FileMode os.FileMode

	// MakeDirs lets the first write create the store file's directory (and
	// its parents, with permission 0755) when it does not exist. Zero: a
	// write into a directory that does not exist fails with an error
	// wrapping fs.ErrNotExist that names the directory, so a mistyped path
	// is not silently created.
	MakeDirs bool
}

// settings are Options with the defaults applied.
type settings struct {
	prefix          string
	readOnly        bool
	timeout         time.Duration
	checkInterval   time.Duration
	releaseInterval time.Duration
	standbyWait     time.Duration
	noSync          bool
	fileMode        os.FileMode
	makeDirs        bool
}

func (o *Options) settings() settings {
	var x Options
	if o != nil {
		x = *o
	}
	s := settings{
		prefix:          x.Prefix,
		readOnly:        x.ReadOnly,
		timeout:         x.Timeout,
		checkInterval:   max(x.CheckInterval, 0),
		releaseInterval: x.ReleaseInterval,
		standbyWait:     max(x.StandbyWait, 0),
		noSync:          x.NoSync,
		fileMode:        x.FileMode,
		makeDirs:        x.MakeDirs,
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	switch {
	case x.Timeout == 0:
		s.timeout = 10 * time.Second
	case x.Timeout < 0:
		s.timeout = 0
	}
	if x.ReleaseInterval == 0 {
		s.releaseInterval = 250 * time.Millisecond
	}
	if x.StandbyWait == 0 {
		s.standbyWait = 5 * time.Millisecond
	}
	if s.fileMode == 0 {
		s.fileMode = 0o644
	}
	return s
}
