// Package dynamodb is a daemonflag store on Amazon DynamoDB, in the table
// layout of LaunchDarkly's DynamoDB integration, so that LaunchDarkly's SDKs
// and Relay Proxy can share a table with daemonflag in either direction.
//
// Open one with [New] (or [ParseURL] for an address such as
// "dynamodb://my-table?region=eu-west-1&prefix=prod"). A [*Store] implements
// store.Store, store.Pinger, store.BigSegmentReader, store.BigSegmentWriter
// and store.MembershipScanner.
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
// A reader (client) needs dynamodb:GetItem and dynamodb:Query on the table.
// A writer needs in addition dynamodb:PutItem, dynamodb:BatchWriteItem and,
// for big segments, dynamodb:UpdateItem and dynamodb:DeleteItem.
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
