// Package bolt is daemonflag's embedded default store: a bbolt
// (go.etcd.io/bbolt) file that one writer process and any number of reader
// processes on one host share, with nothing to install or run.
//
//	s, err := bolt.Open("/var/lib/flags/daemonflag.db", &bolt.Options{ReadOnly: true})
//
// # The problem
//
// bbolt locks its file for as long as it is open: exclusively when opened
// read-write, shared when opened read-only. A writer process and reader
// processes therefore cannot keep one file open together, and bbolt's
// multi-version reads only work inside one process: a writer in another
// process would reuse pages a reader is still reading.
//
// # Files
//
// A store at PATH is four files in one directory:
//
//	PATH        the live file: the published dataset, a hard link to one slot
//	PATH.0      slot 0: a complete bbolt store file
//	PATH.1      slot 1: the other
//	PATH.lock   the writer lock (flock(2), exclusive, only while writing)
//
// plus, only while a write is running or after a writer died mid-write,
// temporary files PATH.tmp-*, and after an Init replaced a damaged live file,
// that file as PATH.corrupt-<Unix ms>. PATH itself is a complete, ordinary
// bbolt file: it can be copied, backed up or inspected with the bbolt
// command. Do not copy a file over PATH in place (cp backup PATH): readers
// survive it and recover once the copy is complete, but one that reads
// during the copy may see pages of both files. Restore a backup with a
// writer (daemonflag copy, or Init), which publishes it with one rename.
//
// # Protocol
//
// The live file is never written. A writer never needs the live file's
// lock, so readers never block it; a reader never needs a lock a writer holds
// for long, so a writer never blocks readers.
//
// Readers open PATH read-only (a shared lock on that file) and run each read
// in one bbolt read transaction, so every read sees one published state.
// Before each read (or at most every [Options.CheckInterval]) a reader
// compares PATH with the file it holds (one stat(2), about 0.5 µs) and, when
// PATH names a new file, opens it and closes the old one once the reads on
// it finish. An idle store does the same in the background every
// [Options.ReleaseInterval], so it lets go of replaced files.
//
// A writer takes the writer lock on PATH.lock (writers in other processes,
// and other Store values in this one, wait; [Options.Timeout] bounds the
// wait), writes the next state into the slot that is not live, and
// publishes it: it hard-links the slot to a temporary name and renames that
// over PATH, so PATH switches from the complete old file to the complete new
// one in one rename(2). It then fsyncs the directory (see [Options.NoSync]).
//
//   - Upsert, UpsertBatch, ApplyMembership and SetSynchronizedOn update the
//     standby slot in place. The standby slot is the previous live file, one write behind;
//     the writer takes bbolt's exclusive lock on it (readers let go of it at
//     their next read or background check; the writer waits up to
//     [Options.StandbyWait]), copies the keys and buckets the last writes
//     changed from the live file (each file carries a log of which keys its
//     last 8 generations changed; a write of more than 10,000 keys is logged
//     as a full rewrite), applies the new writes, and commits. Cost: a few
//     pages, not the whole file.
//   - When the standby slot cannot be updated in place (a reader still holds
//     it, it is damaged, or the log does not reach back to it: after an
//     Init, after a writer died between writing and publishing, or on the
//     first writes), the writer copies the live file to a temporary file
//     (copy_file_range where the kernel has it), applies the writes there and
//     renames the copy over the slot's name. A reader holding the old slot
//     keeps reading it, unlinked, until it moves on.
//   - Init builds the new dataset in a fresh temporary file: every other
//     prefix and this prefix's big-segment data are copied from the live
//     file, the new items are written in key order into full pages, and the
//     file is renamed over the standby slot's name and published.
//   - Concurrent writes on one Store are committed together (group commit):
//     one file update for all writers waiting at that moment.
//   - Big-segment imports add runs rather than rewrite memberships in place
//     (see "Big segments" below); a compaction folds the runs into the
//     memberships by building a new file, as Init does, and publishes it
//     like any write. It commits that file, which no one reads yet, in steps
//     of a few MB with one fsync at the end, so it holds a few MB in memory.
//
// Each file carries a generation number and a random snapshot id; a writer
// updates a slot in place only when the live file's log shows that slot's
// exact generation and id as its ancestor, and otherwise copies. Temporary
// files are created only under the writer lock, so any found there were
// left by a writer that died; the next writer removes them.
//
// # Guarantees
//
//   - A read (Get, GetAll, Initialized, Membership, ...) sees one published
//     state: never a partly written Init or a mix of two writes.
//   - Reads through one Store never go back in time: each published file is
//     newer than the last.
//   - A writer killed at any moment, SIGKILL included, leaves the previous
//     dataset live and intact and every file usable; the next writer goes on
//     (it rebuilds a slot the dead writer was writing).
//   - With NoSync unset, a write that returned survives an operating system
//     crash or power loss; with it set, it survives process crashes only.
//   - A reader never blocks a writer for longer than StandbyWait (then the
//     writer copies), and a writer never blocks a reader except in a rare
//     race, where a reader opens a file just as it stops being live: the
//     reader then looks again.
//   - Versions never go backwards: Upsert compares versions inside the write
//     transaction, under the writer lock.
//   - A read-only store whose file does not exist (a wrong path, or no
//     writer yet) answers every read with an error wrapping [ErrNotExist],
//     fs.ErrNotExist and [store.ErrUnavailable] that names the absolute
//     path, and reads the file as soon as a writer publishes it. A store
//     that writes sees an empty, uninitialized store until its first write
//     creates the file. A writer refuses a missing parent directory unless
//     [Options.MakeDirs] is set.
//   - A damaged, truncated or foreign file gives an error wrapping
//     [ErrCorrupt] and [store.ErrUnavailable], never a crash or a hang:
//     bbolt's panics and memory faults on the mapped file (SIGBUS on a file
//     truncated under a reader) are recovered at the package boundary. A
//     bbolt handle that panicked is never used again (bbolt may have left
//     its locks held): the store opens the path anew, and no lock of the
//     store is held across a bbolt call, so other reads, Close and the
//     recovery probe (Ping, bounded by its context) never wait on it. A
//     read-only Open fails on such a file; a store already open reports the
//     error on each read and recovers when the file is repaired, in place
//     (once a backup copied over it is complete) or by a writer.
//   - A full write (Init) replaces a damaged live file: it never needs its
//     contents. The damaged file is kept as PATH.corrupt-<Unix ms> for
//     inspection (other prefixes and big-segment data it held, which could
//     not be read, are not carried over). Writes that build on the live
//     file (Upsert, UpsertBatch, ApplyMembership, SetSynchronizedOn) fail
//     with an error saying so.
//
// # Batches, write times and notifications
//
// [Store.UpsertBatch] ([store.Batcher]) applies many upserts in one
// transaction, published with one rename: readers see all of a batch or
// none of it. Every Init, Upsert and UpsertBatch stamps the write time next
// to the dataset ($last_write), which [Store.LastWrite]
// ([store.WriteTimeReader]) returns.
//
// [Store.Notify] ([store.Notifier]) watches the store's directory with
// fsnotify (inotify on Linux, kqueue on the BSDs and macOS) and reports
// each newly published file at once, as the flags and segments its change
// log names, or as [store.ChangeAll] when the log cannot say (an Init, more
// than 8 writes since the last report, a file changed in place). A Store
// that writes reports its own writes as soon as they are published, without
// waiting for the file system.
//
// # Big segments
//
// Memberships are stored in blocks of about 30 consecutive context hashes
// (2 KB), keyed by their last hash: bbolt's cost is per key and per page,
// and a block makes one key of 30 memberships.
//
// An ApplyMembership of few changes (under 4,096, with the other calls of
// its group commit) rewrites the blocks it touches: about a page per
// change. A bulk import would rewrite most of the file on every call that
// way, as its context hashes are random. So a larger write, and every write
// while runs exist, stores its changes as a run instead: a new bucket of
// blocks holding the changes (refs added and removed), written in key
// order, which costs a page per ~60 changes, and which the next write
// copies to the standby slot as a whole. A membership is read as the
// blocks' membership with every run's changes applied, oldest first.
//
// Runs are folded into the blocks (a compaction, which builds a new file)
// when the synchronized-on time is set, which an import does when it ends,
// and when a write would make more than 16 runs. Each call is still applied
// in one transaction
// and published with one rename, so the guarantees below hold for imports
// as for any write.
//
// # Trade-offs
//
// Measured with the package's benchmarks on a shared 2-core Linux VM
// (ext4, other jobs running: ranges are of 3 runs), flags of about 1 KB:
//
//	Get, warm, stat on every read        2.4-4.3 µs, 33 allocs (bbolt's read transaction is most of it)
//	Get, CheckInterval 100 ms            2.4-3.1 µs, 31 allocs
//	GetAll, 1,000 flags                  0.40-0.49 ms
//	Init, 10,000 flags                   150-330 ms (whole file written and fsynced)
//	Init, 10,000 flags, 1M memberships   490-630 ms (the memberships are copied into the new file)
//	Upsert, in place                     3.2-8.3 ms (0.8-1.0 ms with NoSync)
//	Upsert, copying the file             23-38 ms (when a reader holds the standby file)
//	first read after a publish           + ~35 µs to open the new file
//	big-segment import, 1,000,000 keys   2.7-3.9 s, 255,000-370,000 keys/s, 330-350 MB allocated
//	                                     (batches of 5,000, 4 in flight, fsync on, final
//	                                     compaction included)
//	import of 100,000 into 1,000,000     0.4-0.5 s (BenchmarkApplyMembership/Update)
//	Membership                           4-6 µs; 20-50 µs while an import has left 15 runs
//	notification of another Store        p99 26-44 µs after Upsert returns (most arrive before:
//	                                     the rename precedes the directory fsync); NoSync
//	                                     p99 0.1-0.6 ms (BenchmarkNotifyLatency)
//
// # What the machinery earns
//
// Two parts of this package exist only for speed; each was measured against
// the simpler design it replaces (issue 15), and kept because the simpler
// one is more than 2x slower at realistic sizes:
//
//   - The in-place catch-up of the standby slot (the change log,
//     generations, [Options.StandbyWait], [Options.ReleaseInterval] and the
//     background release): with copy-on-write only, every Upsert copies and
//     fsyncs the whole file. For 10,000 flags that is 23-38 ms per Upsert
//     against 3.2-8.3 ms in place (BenchmarkUpsert10000/Copy against
//     /InPlace): 4-10x. A relay applies every streamed change as one write.
//   - Membership runs and compaction: without them (every change applied
//     to the membership blocks in place, BenchmarkApplyMembership
//     /ImportNoRuns) a 1,000,000-key import takes 20.9 s and allocates
//     5.1 GB, against 3.9 s and 350 MB with runs: 5.3x (2x at 100,000
//     keys: 0.54-0.64 s against 0.26-0.37 s).
//
// One part did not earn its keep and is gone: merging runs into one when a
// write would make more than 16 (instead of compacting them) while the runs
// held less than half the base. Compacting instead measured the same: a
// 1,000,000-key import 2.7-3.0 s either way, and an import of 500,000 keys
// into a store of 1,000,000 1.7-2.2 s against 2.1-2.3 s with merging
// (three compactions instead of one, but less work in between).
//
// Not taken, and why: a bulk-import optional interface would let runs go
// (one sorted build of the file instead). Its best case, measured as one
// ApplyMembership of all 1,000,000 changes (BenchmarkApplyMembership
// /ImportOneCall), takes 1.1-1.4 s and 605 MB against 2.2-2.4 s and 330 MB
// for the batched import in the same run: batches through runs are within
// 1.6-2.3x of it with half the memory, and dropping runs would need every
// bulk writer (membership.Import, writer.Copy) to hand over a whole import
// at once. Big segments in a file of their own would make an Init
// next to 1,000,000 memberships about 2.3x faster (490-630 ms against
// 150-330 ms), at the price of a second published file and a format change.
//
// In short:
//
//   - Disk: two copies of the dataset (the slots; PATH is a link), plus for
//     a while any replaced file a slow reader still holds.
//   - An Upsert rewrites a few pages of the standby slot plus the keys of the
//     previous write; when a reader still holds the standby slot it copies
//     the whole file instead. An Init always writes the whole file, other
//     prefixes included.
//   - Every write costs a lock, bbolt's two fsyncs, a rename and a directory
//     fsync: milliseconds, not microseconds. The store suits flag data,
//     which changes seldom and is read through a cache.
//   - Reads go through bbolt's read transactions (a few µs and about 30
//     small allocations each); the client's cache keeps them off the
//     evaluation path.
//   - While an import is running (before it sets the synchronized-on
//     time), each membership read looks up every run: up to 17 lookups.
//     A compaction, at the end of an import and during a long one whenever
//     the runs have grown to half the memberships, writes the whole file
//     (in key order, so sequentially); so does the next write after it, which
//     copies the file to the other slot.
//   - Sharing between processes relies on flock(2), hard links and rename(2)
//     replacing an open file: Linux, macOS and the BSDs, on a local file
//     system (not NFS). The package builds on Windows, but Windows refuses to
//     rename over a file that is open, so publishing fails there while any
//     reader holds the live file: Windows is not supported.
//
// # Layout inside a file
//
// The root holds one bucket per prefix ([Options.Prefix], default
// "launchdarkly") and the bucket "$daemonflag" (format "2", generation,
// snapshot id, change log). A prefix bucket holds:
//
//	features/<key>                  an encoded item (below)
//	segments/<key>                  an encoded item
//	$inited                         present once Init ran: Unix ms, decimal
//	$last_write                     the last Init, Upsert or UpsertBatch:
//	                                Unix ms, decimal (LastWrite)
//	big_segments/<last hash>        a block of memberships (below)
//	big_segments_runs/<seq>/<last hash>
//	                                a block of membership changes of run
//	                                seq (8 bytes, big-endian, increasing)
//	big_segments_synchronized_on    Unix ms, decimal
//
// The sequence number of big_segments and of each run bucket (bbolt's
// per-bucket counter) is the number of context hashes it holds.
//
// An encoded item is a format byte (1), a flags byte (bit 0: deleted), the
// version as a signed varint, then the item's JSON exactly as written, so
// items round-trip byte for byte and a version is compared without parsing
// JSON. An encoded membership is a format byte (1), then the included and
// the excluded segment references, each as a uvarint count followed by
// uvarint-length-prefixed strings, sorted. A membership change is a format
// byte (3) and four such lists: refs added to the included set, added to
// the excluded set, removed from the included set, removed from the
// excluded set; one that removes nothing is written as a membership
// (format 1). A block is a format byte (2) and, in increasing hash order,
// each context hash and its membership (or change), both
// uvarint-length-prefixed; its key is its last hash. A value of
// big_segments that is not a block is the membership of its key alone:
// format "1" files, which this version reads and updates, hold only those.
// (Versions that write format "1" refuse format "2" files.)
package bolt
