// Package redis is daemonflag's Redis store: flags, segments and big-segment
// memberships in the layout of LaunchDarkly's Redis integrations and Relay
// Proxy, on a single server, a Redis Cluster or behind Redis Sentinel, with
// go-redis v9.
//
// # Layout
//
// Byte for byte LaunchDarkly's, so a store written by a LaunchDarkly Relay
// Proxy reads unchanged and LaunchDarkly SDKs read what this package writes.
// With prefix p (default "launchdarkly"):
//
//	p:features                       hash: flag key -> flag JSON (tombstones too)
//	p:segments                       hash: segment key -> segment JSON (tombstones too)
//	p:$inited                        string "": a complete dataset has been written
//	p:big_segment_include:<hash>     set of "<segmentKey>.g<generation>" refs
//	p:big_segment_exclude:<hash>     set of "<segmentKey>.g<generation>" refs
//	p:big_segments_synchronized_on   string: Unix milliseconds, in decimal
//
// daemonflag adds, and LaunchDarkly's SDKs ignore:
//
//	p:$last_write                    string: Unix milliseconds of our last write
//	p:$write_mark                    string: a random token, new with each write of ours
//	p:$changes                       pub/sub channel of change messages (no key)
//
// A change message is JSON: {"w":"<writer id>","all":true} for an Init, or
// {"w":"<writer id>","c":[["features","f1"],["segments","s1"]]} naming the
// items written.
//
// <hash> is the base64 (standard, padded) SHA-256 of a context key. Item JSON
// is stored exactly as given; a tombstone is stored as its JSON, such as
// {"key":"k","version":3,"deleted":true}. The version and deleted flag of a
// stored item are read from its JSON. No key has a TTL.
//
// # Guarantees
//
// Init is one MULTI/EXEC: it deletes both hashes, writes every item, sets
// "$inited" and announces the change (see below), so a reader sees the
// previous dataset or the new one, never a mix or an empty one, and a
// failed Init changes nothing. (LaunchDarkly's own
// go-redis integration sends the same commands in a plain pipeline, where
// readers can see an empty or half-written dataset.)
//
// Upsert WATCHes the collection's hash, reads the stored item's version
// (HGET), and writes with HSET inside MULTI/EXEC only when its version is
// higher. A concurrent change of the hash makes EXEC fail; the upsert then
// tries again with exponential backoff and jitter, and after
// [Options.UpsertAttempts] attempts returns an error wrapping [ErrConflict],
// never a silent "not applied". Concurrent writers never lose the highest
// version.
//
// Reads are one round trip: Get is HGET, GetAll is HGETALL, Initialized and
// Ping are EXISTS of "$inited", and a big-segment membership is two SMEMBERS
// in one pipeline. ApplyMembership sends SADD and SREM pipelined in batches
// of [Options.BatchSize]; they are idempotent, so an interrupted import is
// completed by running it again. ScanMembership uses SCAN.
//
// # Redis Cluster
//
// MULTI/EXEC and WATCH need every key involved in one hash slot, so on a
// Cluster the prefix must contain a hash tag, such as "{launchdarkly}": all
// keys of the dataset, big-segment sets included, then live in the slot of
// the tag, and everything above holds, including one-round-trip membership
// reads. New refuses a Cluster prefix without a hash tag with an error that
// says so. Readers and writers (and a Relay Proxy, if one writes the store)
// must use the same prefix.
//
// [Options.AllowUnhashedClusterPrefix] accepts an unhashed prefix, such as
// LaunchDarkly's default "launchdarkly", to share a store with LaunchDarkly
// SDKs configured that way. The collections then live in different slots and
// Init cannot be one transaction: it builds each collection in a temporary
// key "{p:<kind>}:init:<random>" (which hashes to the slot of "p:<kind>",
// and expires after an hour if the writer dies), renames it over the live
// key in a MULTI/EXEC (RENAME, PERSIST), segments before flags, and sets
// "$inited" last. Each collection is replaced atomically, but a reader can
// briefly see new segments with the previous flags. Upserts and reads are
// unchanged; a membership read takes one round trip per node holding one of
// its two sets, in parallel.
//
// # Errors
//
// Connection failures (a refused dial, a broken connection, a TLS handshake
// that fails), timeouts (Redis.ReadTimeout and WriteTimeout, or the
// caller's context deadline) and servers that cannot serve now (LOADING,
// CLUSTERDOWN, MASTERDOWN, TRYAGAIN, READONLY) give errors wrapping
// store.ErrUnavailable. A refused connection fails at once, not after
// retries. A stored item that is not valid JSON or has no whole-number
// version concerns its key only: Get of it gives an error wrapping
// store.ErrMalformedItem that names its kind and key, and GetAll returns it
// among the others with Version 0 and its raw bytes (see
// store.Reader.GetAll), so one bad value never hides the rest of the
// dataset. Redis error replies are returned with a hint: WRONGTYPE (another
// application uses the prefix), MOVED or ASK (a Cluster node reached with a
// single-node client), CROSSSLOT (keys in different slots), NOAUTH,
// WRONGPASS and NOPERM. A transaction the server aborts reports the command
// it refused and writes nothing. After Close every call returns [ErrClosed].
// Nothing panics on bad input or bad stored data.
//
// # Connecting
//
// [Options] describes the connection, or a URL does (see [ParseURL]):
// redis://, rediss:// (TLS), redis+cluster://, redis+sentinel://. Options
// holds daemonflag's own parameters (addresses and deployment, prefix, CA
// file, attempts, notification, logger) and go-redis's own options type
// for the rest ([Options.Redis]); a URL's go-redis parameters are parsed
// by go-redis itself. TLS is enabled by a rediss URL, Redis.TLSConfig
// (custom roots, client certificates) or [Options.TLSCAFile]; the server
// name is checked against each address dialled. Redis.Username and
// Redis.Password (ACL) are passed to every node; Sentinels may have their
// own. [NewFromClient] takes an existing go-redis client instead. Without
// an ACL user, a client name, RESP3 or a Dialer of the caller's, a new
// connection answers go-redis's opening HELLO itself (it would change
// nothing on the server), so its first command is the first thing it sends.
//
// # Change notification
//
// A Store implements store.Notifier, store.Batcher, store.WriteTimeReader
// and store.WriteMarker. Every write of this package (Init, Upsert,
// UpsertBatch) sets "p:$last_write" (Unix milliseconds, see
// [Store.LastWrite]) and "p:$write_mark" (a new random token, see
// [Store.WriteMark]: a reader that started before it listened tells from it
// whether it may have missed a message) and publishes a change message on the channel
// "p:$changes" in the same MULTI/EXEC, so a message is sent if and only if
// the write happened; on a Cluster it is SPUBLISH, which keeps the channel
// in the dataset's slot. Readers subscribe ([Store.Notify]); a dropped
// subscription is made again and followed by store.ChangeAll. Writes
// through one Store object reach that object's own subscribers at once.
// Stores written by a LaunchDarkly Relay Proxy carry no messages:
// [Options.Notify] = [NotifyKeyspace] (URL ?notify=keyspace) listens to
// the server's keyspace notifications instead, which must be on
// (CONFIG SET notify-keyspace-events Kgh$). With neither, readers rely on
// their cache's TTL. A writer whose ACL user may not publish writes anyway,
// without messages, and logs that once.
//
// # ACL
//
// The commands a Redis 6+ ACL user needs, with key pattern "~p:*" and
// channel pattern "&p:*":
//
//	reader (client):  HGET HGETALL EXISTS SMEMBERS GET
//	notified reader:  SUBSCRIBE (SSUBSCRIBE on a Cluster) PING
//	writer, also:     HSET DEL SET SADD SREM WATCH UNWATCH MULTI EXEC DISCARD SCAN
//	                  PUBLISH (SPUBLISH on a Cluster)
//	Cluster, also:    CLUSTER|SLOTS
//	unhashed Cluster prefix, also: RENAME EXPIRE PERSIST, and key pattern "~{p:*"
//	keyspace mode:    CONFIG|GET (optional: to check the server's setting) and
//	                  channel pattern "&__keyspace@*"
//
// For example, for a reader on a Cluster with prefix {ld}:
//
//	ACL SETUSER flags-reader on >secret resetkeys ~{ld}:* resetchannels &{ld}:* -@all +hget +hgetall +exists +smembers +get +ssubscribe +ping +cluster|slots
//
// go-redis connects with HELLO (allowed for every user) and does not need
// CLIENT SETINFO, which this package turns off.
package redis
