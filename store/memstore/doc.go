// Package memstore is an in-memory daemonflag store: the public test double
// of the store contracts, as testing/fstest.MapFS is for io/fs.
//
// A [Store] implements every contract of package store: [store.Reader],
// [store.Writer], [store.BigSegmentReader], [store.BigSegmentWriter],
// [store.MembershipScanner], [store.Pinger], and the optional
// [store.Notifier], [store.Batcher] and [store.WriteTimeReader]. It passes
// the conformance suite of package storetest, atomic Init included.
//
//	s := memstore.New()
//	defer s.Close()
//	c, _ := client.New(client.Config{Store: s, BigSegments: client.BigSegmentsConfig{Store: s}})
//
// Several clients (or caches) may read one Store; [Store.Connect] gives
// another handle on the same data, as a second process's connection to one
// Redis would be, so tests can close one without the others. Every write
// is seen at once by every handle's reads, and its changes are queued for
// every [Store.Notify] subscriber of every handle before the write returns
// (each subscriber's function then runs on a goroutine of the store's, with
// the changes in write order).
//
// [Store.SetError] makes every call fail, to test how code behaves while a
// store is unavailable; [Store.Announce] delivers a notification without a
// write (a [store.ChangeAll] after a lost subscription, say); and
// [Store.Subscribers] tells a test when a cache has subscribed. The store
// starts no goroutine but one per Notify subscription, so it works inside a
// testing/synctest bubble: after synctest.Wait every notification of the
// writes so far has been delivered.
//
// Item bytes are copied when written; the bytes reads return are shared and
// must not be modified.
package memstore
