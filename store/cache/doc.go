// Package cache is the cache between the client and a persistent store: it
// reads serialized flags and segments through a [store.Reader], decodes and
// preprocesses each item once per fetch, and serves the decoded, immutable
// [model.Flag] and [model.Segment] values to the evaluator.
//
// # Modes
//
// [ModeTTL] (the default, 15 s like LaunchDarkly's SDKs) keeps each entry for
// its TTL, [ModeForever] reads each item once, [ModeOff] reads the store on
// every call. See [Options]; its zero value gives the documented defaults.
//
// # Guarantees
//
//   - Reads: each item is cached under its key, and each kind has an
//     all-items entry ([Cache.AllFlags]); reading all items also fills the
//     per-item entries. A key the store does not have is cached as "not
//     found" for one TTL. An item whose stored content is unchanged is not
//     decoded again.
//   - One read per miss: concurrent misses for one key, from any number of
//     goroutines, share one store read. A lookup with a context that cannot
//     end (context.Background) makes that read on its own goroutine; with
//     one that can, each waiter stops waiting when its own context ends
//     while the shared read goes on (bounded by [Options.RefreshTimeout])
//     and its result is cached.
//   - The TTL is a staleness bound: an entry's life counts from the moment
//     its store read began, and jitter ([Options.Jitter], up to 10% by
//     default, so processes sharing a store do not refresh together) only
//     shortens it. A lookup in the last fifth of an entry's life serves the
//     entry and starts one background read (refresh-ahead; when recent
//     refreshes took longer than that fifth, as when lookups saturate the
//     CPU and the read waits for it, the part of life that refreshes grows
//     to twice their duration, up to half the life); an answer that
//     differs from the entry waits until the entry expires, so a value never
//     changes before its TTL either (as LaunchDarkly's persistent-store
//     contract requires of changes made behind the writer's back). So a key
//     read at least once in the last fifth of each life never waits on the
//     store, and sees a change no later than TTL plus one store round trip
//     after it was written (the round trip only when the store is slower
//     than that fifth). A warm lookup makes no allocation.
//   - Under CPU saturation (goroutines that call the cache and never block,
//     more of them than processors) a refresh would wait for a processor
//     behind those very goroutines: Go's scheduler polls the network only
//     from its monitor thread then (every 10 ms at best) and queues what it
//     wakes, or what a system call or a preemption returns, at the back of
//     the global run queue. So the lookups drive it, rationed by the clock
//     reading each already has and across all keys (pace.go): the lookup
//     that starts a refresh hands its processor to the new goroutine until
//     it has sent its request (a direct switch, not a trip through the
//     queue); while a refresh is in flight, at most one lookup per 100 µs
//     nudges the store reads whose reply has arrived (on the Redis store,
//     whose connections are wrapped by internal/nudge: the reader runs at
//     once on the lookup's processor and hands it back, microseconds); a
//     refresh in flight for over 2 ms (queued after a system call or a
//     preemption) makes one of its entry's lookups per 250 µs yield the
//     processor, so the queue turns over; and one hit in 4,096, at most one
//     per 500 µs, yields so the scheduler keeps turning for the cache's
//     other goroutines (none when no goroutine waits for a processor). A
//     yield makes its lookup wait for the queue to turn (milliseconds):
//     these yields are the slow lookups of the tail.
//   - A key nobody read in the last fifth of its life has no fresh answer
//     when its TTL ends: the next lookup reads the store as a miss does
//     (one round trip, shared), so a value older than the TTL is never
//     served. If that read fails, or the lookup's context ends first, the
//     last good value is served. "Not found" answers follow the same rules.
//   - Notifications: when the store implements [store.Notifier], the cache
//     subscribes and reads again at once, in the background, what a
//     notification names (every cached item for [store.ChangeAll]),
//     installing the answers at once: lookups see a change one round trip
//     after the store announced it, and change listeners are told (the
//     change poll runs at once). No change can fall between a read and the
//     start of listening: the cache's first store reads wait for its first
//     attempt to subscribe (one round trip), except on a store whose writers
//     mark every write ([store.WriteMarker]), where the first check of the
//     store reads the mark before any item read and, once the store
//     listens, reads it again: only when it moved (a writer wrote, and its
//     announcement may have been missed) or cannot be read is everything
//     cached read again and installed at once, as after [store.ChangeAll].
//     A change made behind the writer's back in that window marks nothing
//     and keeps to the TTL, as any such change does. After [store.ChangeAll]
//     (a new dataset, a dropped subscription) every cached item is read
//     again: what changed shows at once, while an item the store no longer
//     has keeps its value until its TTL (for ever in ModeForever), so a
//     store emptied behind the writer's back loses nothing early. The TTL
//     still bounds staleness when a notification is lost or the store
//     cannot notify.
//   - Ordering: a read that began later always wins over one that began
//     earlier, so a slow refresh never overwrites a newer answer.
//   - Consistency across items: each entry expires on its own clock, so no
//     read (of one item or of all, a refresh, a notification, the change
//     poll) installs the removal of an item (a tombstone, or "not found")
//     while a cached flag or segment still names it: the items that depend
//     on it are read again first, also when the removed key was never
//     cached, and a cached list of all items read before is not served
//     again. [Cache.Removals] counts these events before they show, so an
//     evaluation that raced one can tell and evaluate again (package client
//     does). Writers add new dependencies before the items that use them
//     and remove old ones after (package writer does), so an evaluation
//     never mixes the two halves of a change.
//   - Store errors: the last good value of every key keeps being served;
//     the store is then not read for cached keys, and a miss (a key with no
//     last good value) fails at once with an error that satisfies
//     errors.Is(err, store.ErrUnavailable), until the recovery probe
//     succeeds. [Options.MaxStale] optionally bounds how long past its
//     expiry a value is served this way.
//   - Malformed items (errors.Is(err, store.ErrMalformedItem)) concern one
//     key, not the store: the key's last good value is kept; without one
//     the error is cached for one TTL. Each malformed item is logged once.
//   - Memory: entries of keys the store does not have are forgotten within
//     a few TTLs after they expire, so lookups of many unknown keys do not
//     grow the cache without bound.
//
// # Status
//
// [Cache.Status] is [Available], [Unavailable] (with the last error and
// since when) or [NotInitialized]. Any failed store call makes the cache
// Unavailable; any answer of [store.Reader.Initialized] makes it Available or
// NotInitialized. Reads never make it Available: while it is not Available
// the cache probes the store every [Options.ProbeInterval] ([store.Pinger]
// when the store implements it and is unavailable, then Initialized), and
// that probe notices recovery. Status listeners
// ([Cache.AddStatusListener]) are told of every change. Each change is
// logged once, with its cause; failed reads are never logged one by one.
//
// # The "$inited" marker
//
// The marker is checked: once when the cache starts (with the writer's
// write mark and last-write time; in one round trip, together with the
// first item read when no check has begun, on a store that offers
// [store.StartChecker], as Redis does: a read whose check fails, as on a
// DynamoDB init in progress, fails with it); by the probe while the
// cache is not Available; at the start of every change poll; and whenever a
// store read would replace an item the cache had with "not found" (the only
// way losing data would change what the cache serves). No check is made on
// ordinary hits or refreshes, so a healthy store costs nothing extra.
//
// A store that is not initialized when the cache starts (a wrong prefix, or
// no writer yet) is logged once; it is still read, so a missing flag reads
// as not found, as in LaunchDarkly's daemon mode. A store that loses its data
// after the cache has seen it initialized and read from it (the marker is
// gone, as when Redis restarts without persistence before the writer refills
// it) does not wipe the cache: items that disappear keep their last values, the status
// becomes NotInitialized with Stale set, and when the marker is back the
// cache reads normally again and accepts what the store then holds. A store
// that was never seen with its marker (filled by something other than a
// writer) has nothing to lose: items that vanish from it are gone, as any
// deletion is.
//
// # Change detection
//
// While change listeners are registered ([Cache.OnChange]), the cache reads
// every flag and segment every [Options.ChangePollInterval] (the TTL by
// default), installs the result in the cache, compares it with the previous
// poll, and reports the changed flag keys, including flags affected through
// prerequisites and segments. This makes flag-change listeners work in
// daemon mode.
//
// # Background work
//
// A cache runs two goroutines for its whole life (the monitor that checks
// and probes the store, and the status-listener notifier), two more when the
// store notifies (the subscription and the worker that applies
// notifications, started when the first check of the store is done, or
// earlier by the first item read, which waits for both; on a store that
// marks its writes, once the item reads that began before the first check
// was done have ended, since they do not wait for it), one more while
// change listeners exist, and one per background store read in flight. The
// first check is made by the monitor, or by the first item read on its own
// goroutine when the monitor has not begun it (on a store that makes it
// with an item read, [store.StartChecker], the monitor leaves it for 1 ms
// to a first lookup, and [Cache.Initialized] makes it at once). [Cache.Close]
// stops them all and waits for them; it does not close the store.
package cache
