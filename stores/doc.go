// Package stores turns a store address, one string such as
// "bolt:./flags.db" or "redis://localhost:6379?prefix=prod", into an open
// store. It is the one parser of store addresses: the daemonflag command and
// programs that take an address from their configuration use it, so every
// tool accepts the same forms.
//
// # Address forms
//
//	bolt:PATH                                     a bbolt file (package stores/bolt)
//	redis://[USER:PASSWORD@]HOST:PORT[/DB]        one Redis server (package stores/redis)
//	rediss://...                                  the same over TLS
//	redis+cluster://HOST:PORT?addr=HOST2:PORT2&addr=HOST3:PORT3
//	                                              a Redis Cluster, by its seed nodes
//	redis+sentinel://HOST:PORT?master=NAME&addr=HOST2:PORT2
//	                                              Redis Sentinel, by its Sentinels
//	dynamodb://TABLE?endpoint=URL&region=REGION   a DynamoDB table (package stores/dynamodb)
//	file:PATH[,PATH...]                           flag data files, read-only (package stores/file)
//
// Every form but file: takes ?prefix=P, which names the dataset inside the store. The
// default is the backend's: "launchdarkly" for Redis and bbolt, none for
// DynamoDB, as LaunchDarkly's SDKs and Relay Proxy do. On a Redis Cluster the
// prefix must hold a {hash tag}, such as ?prefix={launchdarkly}. The Redis and
// DynamoDB forms take the further parameters their packages' ParseURL
// functions document; DynamoDB credentials come from the AWS default
// configuration chain, never from the address. A bolt address also takes
// ?mkdir=true, which lets a writer create the file's directory (a writer
// refuses a missing directory otherwise, so a mistyped path is not silently
// created). A file address takes duplicates=first (keep the first
// definition of a key several files define), settle=DURATION,
// poll_interval=DURATION and poll_only=true (see file.Options).
//
// A bad address gives an *AddressError: one line that says what is wrong
// and shows a good address of the same kind. Errors never repeat a password
// that the address holds.
//
// # Capabilities
//
// Every store Open returns implements store.Store and store.Pinger. The
// bbolt, Redis and DynamoDB stores also implement store.BigSegmentReader,
// store.BigSegmentWriter, store.MembershipScanner, store.Notifier (change
// notification: bbolt file events, Redis pub/sub, a DynamoDB change-log
// item), store.Batcher and store.WriteTimeReader; a file store does not
// have big segments, and its writes fail with file.ErrReadOnly.
// Callers discover the optional interfaces with a type assertion.
package stores
