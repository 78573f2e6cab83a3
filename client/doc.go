// Package client is daemonflag's SDK client: it evaluates LaunchDarkly-style
// feature flags for evaluation contexts, reading flags, segments and
// big-segment memberships from persistent stores that another process (the
// daemonflag writer or relay, or a LaunchDarkly Relay Proxy) keeps filled.
// This is LaunchDarkly's "daemon mode", and the only mode there is.
//
//	st, err := bolt.Open("/var/lib/flags/daemonflag.db", &bolt.Options{ReadOnly: true})
//	...
//	c, err := client.New(client.Config{Store: st})
//	...
//	defer st.Close()
//	defer c.Close()
//	on, err := c.BoolVariation("new-checkout", evalctx.New("user-123"), false)
//
// # Guarantees
//
//   - Never upstream: a client connects to nothing but the stores in its
//     Config. It opens no network connection of its own, except to the
//     analytics events endpoint when Config.Events names one (off by
//     default; see package events).
//   - Concurrency: one Client per process is the norm; every method is safe
//     for concurrent use by any number of goroutines.
//   - Speed and freshness: flags are decoded once per store read and cached
//     (see package store/cache). The cache TTL bounds the age of what is
//     served; a flag read in the last fifth of its life is refreshed in the
//     background before it expires, so a variation call on a flag in use
//     never waits on the store (one not read for longer than the TTL is
//     read again, as a miss is). A store that notifies (store.Notifier)
//     delivers changes at once. BoolVariation on a warm cache without hooks
//     makes no allocation.
//   - Last good value: when the store fails, every flag the cache has read
//     keeps being served at its last good version (LaunchDarkly serves
//     defaults instead), and [Client.DataStoreStatus] says the store is
//     unavailable. A store that loses its dataset (its "$inited" marker
//     disappears) does not wipe what the client serves either.
//   - Errors are values: bad input (an invalid context, a malformed flag in
//     the store, a missing flag) gives the caller's default, an error reason
//     and an error, never a panic. Hooks and listeners cannot break an
//     evaluation.
//
// # Evaluation results
//
// Every variation method returns the caller's default value whenever the
// result has no variation index, and for each ERROR reason an
// [*EvaluationError] that matches one sentinel error:
//
//	CLIENT_NOT_READY    ErrClientNotReady   the client is offline or closed, or
//	                                        (Config.NotReadyWithoutData) the
//	                                        store has held no dataset yet
//	USER_NOT_SPECIFIED  ErrInvalidContext   the context is invalid
//	FLAG_NOT_FOUND      ErrFlagNotFound     no such flag (also when the store
//	                                        holds no dataset yet)
//	WRONG_TYPE          ErrWrongType        the value's JSON type is not the
//	                                        method's (int and float64 share
//	                                        "number"; IntVariation truncates)
//	MALFORMED_FLAG      ErrMalformedFlag    inconsistent flag data, or stored
//	                                        JSON that cannot be decoded
//	EXCEPTION           ErrDataUnavailable  the store failed and no earlier
//	                                        value is cached, or ctx ended
//
// Store errors follow LaunchDarkly: when a flag cannot be read at all, the
// result is the default with reason ERROR/EXCEPTION (not FLAG_NOT_FOUND,
// which would claim the flag does not exist), and the error also matches
// store.ErrUnavailable. Unlike LaunchDarkly, this happens only for flags the
// client has never read, since the cache keeps last good values. A stored
// flag whose JSON cannot be decoded gives MALFORMED_FLAG (LaunchDarkly
// reports its store's decode error as EXCEPTION); the error also matches
// store.ErrMalformedItem, and the cache logs the item once.
//
// As in LaunchDarkly's daemon mode, a client is ready as soon as [New]
// returns: a store without a dataset makes every flag FLAG_NOT_FOUND and the
// data store status NotInitialized, which the cache logs once.
// [Client.WaitForInitialization] waits for the dataset if that matters.
//
// # Listeners and status
//
// [Client.AddFlagChangeListener] and [Client.AddFlagValueChangeListener] are
// told of changes that the cache finds by polling the store (so they work in
// daemon mode, where LaunchDarkly's listeners never fire), including changes
// through prerequisites and segments. [Client.AddDataStoreStatusListener] and
// [Client.AddBigSegmentStoreStatusListener] are told of status changes.
//
// # Hooks
//
// [Hook] implementations observe every variation call before and after the
// evaluation, as LaunchDarkly's evaluation hooks do.
package client
