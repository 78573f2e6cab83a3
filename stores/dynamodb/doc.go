// Package dynamodb is a daemonflag store on Amazon DynamoDB, in the table
// layout of LaunchDarkly's DynamoDB integration, so that LaunchDarkly's SDKs
// and Relay Proxy can share a table with daemonflag in either direction.
//
// Open one with [New] (or [ParseURL] for an address such as
// "dynamodb://my-table?region=eu-west-1&prefix=prod"). A [*Store] implements
// store.Store, store.Pinger, store.BigSegmentReader, store.BigSegmentWriter,
// store.MembershipScanner, store.Notifier, store.Batcher and
// store.WriteTimeReader.
//
// # Layout
//
// One table with partition key "namespace" (string) and sort key "key"
// (string). With a prefix P every namespace below is "P:" followed by the
// name; without one (the default) it is the name alone.
//
//	namespace "features" / "segments"   key: flag or segment key
//	    version (N)   the item's version, compared by conditional writes
//	    item    (S)   the flag's or segment's JSON (tombstones too)
//	namespace = key = "$inited"          marker: a complete dataset was written
//	namespace = key = "big_segments_metadata"
//	    synchronizedOn (N)  Unix milliseconds of the last big-segment sync
//	namespace "big_segments_user"        key: context hash (base64 SHA-256)
//	    included (SS), excluded (SS)  segment references "<key>.g<generation>"
//
// daemonflag adds two items that LaunchDarkly's SDKs never read:
//
//	namespace "$inited", key "$initing"  an Init in progress (startedAt, N ms)
//	namespace = key = "$changes"         the change log: seq (N), epoch (S),
//	    log (S, JSON [[seq, kind, key]...], kind "" for everything),
//	    lastWrite (N, Unix ms of the last write); its epoch and seq are
//	    the write mark (Store.WriteMark)
//
// # Guarantees
//
// Reads are strongly consistent (GetItem and Query with ConsistentRead).
// Upsert is a conditional PutItem: it applies only when no item exists or
// the stored version is lower, so concurrent writers never move a version
// backwards.
//
// Init is not atomic: DynamoDB transactions are limited to 100 items, so a
// reader in another process can see a dataset partly replaced. Init keeps
// what such a reader sees usable by its order: it checks every item's size
// first (one item over DynamoDB's 400 KB limit fails the call before
// anything is written), then writes segments, then flags with every flag
// after its prerequisites, then deletes the items the new dataset no longer
// has, and writes the "$inited" marker last. Writes go in BatchWriteItem
// calls of 25 items, several in parallel (Options.WriteConcurrency);
// unprocessed items are sent again with exponential backoff and jitter, and
// if some still cannot be written Init fails with an error saying how many,
// instead of dropping them. A failed Init leaves the table partly updated; a
// table that was initialized before keeps its marker. Run it again.
//
// Such an interrupted Init (a failure, or a writer killed midway) is
// visible: Init writes an init-in-progress mark before its first batch and
// deletes it after "$inited", and while the mark is there Initialized
// returns an error wrapping store.ErrInitInProgress, so a reader knows the
// table may hold a mix of two datasets (the cache keeps serving what it
// had). One Query of the "$inited" partition reads both. Init also logs a
// full re-check in the change log right after the mark (and again at the
// end), so readers in other processes that listen (below) look at
// Initialized within one poll instead of reading the mix. The next complete Init clears the mark.
//
// # Change notification
//
// Every write of this package (Init, Upsert, UpsertBatch) then updates the
// change-log item: a sequence number and the last 64 changed keys (at most
// 3 KB of them, so the item stays under 4 KB), with a conditional put that
// is retried when writers collide. [Store.Notify] polls that one item with
// an eventually consistent GetItem (half a read unit) every
// Options.NotifyInterval (default 1 s) and delivers the keys changed since
// its last poll, or store.ChangeAll when it fell behind the log or the log
// was made anew. Writes through one Store object reach its own subscribers
// at once. A table written only by LaunchDarkly's SDKs or Relay Proxy has no
// change log; readers then rely on their cache's TTL. UpsertBatch applies
// its updates one conditional put after another, in the order given.
//
// Oversized items are errors ([*ItemTooLargeError]), never dropped: the
// stored copy stays as it was.
//
// Errors: throttling, timeouts, server faults, network and credential
// failures wrap store.ErrUnavailable; a missing table is a
// [*TableNotFoundError] naming the table and region. An item whose JSON
// cannot be read concerns its key only: Get of it gives an error wrapping
// store.ErrMalformedItem with its kind and key, and GetAll returns it among
// the others with Version 0 and its raw JSON (see store.Reader.GetAll). A
// "version" attribute that is missing or not a whole number gives way to the
// JSON's version, which LaunchDarkly's SDKs read.
//
// # IAM permissions
//
// A reader (client) needs dynamodb:GetItem and dynamodb:Query on the table
// (GetItem also for change notification).
// A writer needs in addition dynamodb:PutItem, dynamodb:BatchWriteItem,
// dynamodb:DeleteItem (the init-in-progress mark) and, for big segments,
// dynamodb:UpdateItem.
// Options.CreateTable needs dynamodb:DescribeTable and dynamodb:CreateTable.
//
// # Table
//
// Create the table outside daemonflag in production, for example:
//
//	aws dynamodb create-table --table-name flags \
//	    --attribute-definitions AttributeName=namespace,AttributeType=S AttributeName=key,AttributeType=S \
//	    --key-schema AttributeName=namespace,KeyType=HASH AttributeName=key,KeyType=RANGE \
//	    --billing-mode PAY_PER_REQUEST
//
// Options.CreateTable does the same for development and tests.
package dynamodb
