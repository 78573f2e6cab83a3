package redis

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// DefaultPrefix is the key prefix used when [Options.Prefix] is empty. It is
// the default of LaunchDarkly's SDKs and Relay Proxy, so a store they write
// reads unchanged. It has no hash tag, so a Redis Cluster refuses it unless
// [Options.AllowUnhashedClusterPrefix] is set; use "{launchdarkly}" there.
const DefaultPrefix = "launchdarkly"

// DefaultAddr is the server address used when neither [Options.URL] nor
// [Options.Addrs] names one.
const DefaultAddr = "localhost:6379"

// Default values of the Options fields whose zero value means "default".
// DefaultDialTimeout and DefaultReadTimeout are go-redis's own; MaxRetries
// differs from go-redis's 3 (see [Options.Redis]).
const (
	DefaultUpsertAttempts = 20
	DefaultBatchSize      = 1000
	DefaultDialTimeout    = 5 * time.Second
	DefaultReadTimeout    = 3 * time.Second
	DefaultMaxRetries     = 1
	DefaultBufferSize     = 4 << 10
)

// Options configures a [Store]: daemonflag's own parameters, and go-redis's
// options for the connection. The zero value connects to a single Redis
// server at localhost:6379 with prefix "launchdarkly". Every field's zero
// value is its documented default.
type Options struct {
	// URL describes the server(s) in one string; see [ParseURL] for the
	// forms. The URL's parameters apply, and fields set explicitly in
	// Options (Redis's included) override them. Empty: the connection
	// comes from the other fields.
	URL string

	// Addrs are host:port addresses: one address for a single server, the
	// seed nodes of a Redis Cluster (two or more addresses, or one with
	// Cluster set), or the Sentinel addresses when MasterName is set. Empty
	// (and no URL): localhost:6379. (Redis.Addrs is not used.)
	Addrs []string

	// Cluster selects a Redis Cluster client even with a single seed
	// address. Two or more Addrs without MasterName select it anyway.
	// (Redis.IsClusterMode is not used.)
	Cluster bool

	// MasterName selects Redis Sentinel: Addrs are then the Sentinels, and
	// the client follows the master they name (go-redis's failover client).
	MasterName string

	// Prefix is the first part of every key, followed by a colon. Readers
	// and writers of a dataset must use the same prefix. Empty:
	// [DefaultPrefix]. For a Redis Cluster the prefix must contain a hash
	// tag, such as "{launchdarkly}", so that every key of the dataset lives
	// in one hash slot (see AllowUnhashedClusterPrefix).
	Prefix string

	// AllowUnhashedClusterPrefix lets a Redis Cluster client use a prefix
	// without a hash tag, such as LaunchDarkly's default "launchdarkly", to
	// share a dataset with LaunchDarkly SDKs or a Relay Proxy configured
	// that way. The keys then spread over several hash slots, and Init
	// cannot be one transaction: each collection is built in a temporary key
	// and renamed into place atomically, segments before flags, then the
	// "$inited" marker is set, so a reader may briefly see new segments
	// with the previous flags. Big-segment reads then take one round trip
	// per node involved instead of one in all. False: such a prefix is
	// refused with an error.
	AllowUnhashedClusterPrefix bool

	// TLSCAFile names a PEM file of CA certificates to verify the servers
	// with, in place of the system roots. Setting it enables TLS (on top of
	// Redis.TLSConfig, when set). Empty: Redis.TLSConfig's RootCAs, or the
	// system roots.
	TLSCAFile string

	// DialAttempts is how many times a call dials a new connection before it
	// fails, 100 ms apart. Zero: 1, so that an outage is reported at once
	// (the cache in front of the store serves the last good values and
	// tries again later).
	DialAttempts int

	// UpsertAttempts bounds the optimistic-locking attempts of one Upsert
	// when other writers keep changing the same collection; after that
	// Upsert returns an error wrapping [ErrConflict]. Attempts back off
	// exponentially with jitter (1 ms doubling up to 100 ms). Zero:
	// [DefaultUpsertAttempts].
	UpsertAttempts int

	// BatchSize is the number of commands sent in one pipelined round trip
	// by ApplyMembership, and of hash fields per HSET during Init. Zero:
	// [DefaultBatchSize].
	BatchSize int

	// Notify selects how [Store.Notify] learns of changes. Empty or
	// [NotifyMessages]: from the change messages this package's writers
	// publish with every write (a store written only by a LaunchDarkly
	// Relay Proxy publishes none, and readers then rely on their cache's
	// TTL). [NotifyKeyspace]: from the server's keyspace notifications,
	// which see every writer's changes but not which item changed (each is
	// a full re-check); the server must have them on
	// (notify-keyspace-events with K, and h and g, or A). [NotifyOff]:
	// Notify is refused, and readers rely on their TTL. URL: notify=.
	Notify string

	// Logger receives the store's own warnings and go-redis's log lines
	// (a failed dial, a cluster node marked as failing), which go-redis
	// writes to standard error in plain text otherwise. go-redis has one
	// logger per process: the first Store installs a router in it
	// (redis.SetLogger), which sends each line, as a structured record
	// with the message "redis client library" and the line as its
	// "message" attribute, to the Logger of the most recently opened Store
	// still open, rate-limited per kind of line (the first at once, the
	// next after a minute, then at doubling intervals up to an hour, each
	// with the count of lines suppressed), so an outage costs a handful of
	// records. Nil: slog.Default().
	Logger *slog.Logger

	// Redis holds go-redis's own options for everything else: credentials
	// (Username, Password, SentinelUsername, SentinelPassword), DB,
	// TLSConfig (a "rediss" URL sets one with the system roots), timeouts,
	// pool and retries, with go-redis's defaults, except that MaxRetries 0
	// means [DefaultMaxRetries] (1: a pooled connection broken by a server
	// restart is replaced without an error, and an outage is still reported
	// within milliseconds; go-redis's own default is 3, with up to 512 ms
	// between tries; -1: none). The context of each call bounds it
	// (ContextTimeoutEnabled is always on), CLIENT SETINFO is not sent
	// (DisableIdentity: it is not in Redis 7.0 and needs an ACL grant), and
	// maintenance notifications (a Redis Enterprise feature) are off.
	// Protocol 0 means 2 (RESP2; go-redis's own default is 3): every
	// command the store sends, pub/sub included, works the same with
	// either, and RESP2's handshake reply is a flat array where RESP3's is
	// a map (a few dozen allocations fewer per connection; the handshake is
	// one round trip either way). ReadBufferSize and WriteBufferSize 0
	// mean [DefaultBufferSize] (4 KiB, as redigo's, which LaunchDarkly's
	// SDK uses; go-redis's own default is 32 KiB each way, 64 KiB for
	// every pooled connection; its pub/sub connections get 32 KiB each way
	// whatever these say): a daemon-mode reader sends small commands and
	// reads small replies, and reading all 1,000 flags of a collection
	// measured no slower with 4 KiB. Every connection dialled (by Dialer,
	// or go-redis's own dialer when nil) is wrapped so that go-redis's
	// per-command deadlines reach the socket only when the one in force
	// does not honour them (a timeout fires at most 10 ms late, never
	// early) and its pool's health check runs on connections idle 10 ms
	// or more since their last reply (see lazyconn.go). With no Dialer,
	// each TCP connection is also wrapped, under TLS, so that a cache
	// whose lookups saturate the processors can hand one to a reader whose
	// reply has arrived (see dial.go and the README's Freshness). Addrs,
	// IsClusterMode and MasterName are ignored in favour of the fields
	// above.
	Redis goredis.UniversalOptions
}

// Values of [Options.Notify].
const (
	NotifyMessages = "messages" // this package's change messages (pub/sub)
	NotifyKeyspace = "keyspace" // the server's keyspace notifications
	NotifyOff      = "off"      // no notification: the cache's TTL only
)

// daemonflag's own URL query parameters, see ParseURL.
const (
	qPrefix          = "prefix"
	qAddr            = "addr"
	qMaster          = "master"
	qCAFile          = "ca_file"
	qAllowUnhashed   = "allow_unhashed_cluster_prefix"
	qSentinelUser    = "sentinel_username"
	qSentinelPass    = "sentinel_password"
	qUpsertAttempts  = "upsert_attempts"
	qDialAttempts    = "dial_attempts"
	qBatchSize       = "batch_size"
	qNotify          = "notify"
	defaultPort      = "6379"
	defaultSentinel  = "26379"
	maxURLParamValue = 4096
)

// ParseURL parses a Redis URL into Options (with URL left empty):
//
//	redis://[[user]:password@]host[:port][/db][?param=value&...]
//	rediss://...                                   the same over TLS
//	redis+cluster://[[user]:password@]host[:port][?addr=host:port&addr=...]
//	redis+sentinel://[[user]:password@]host[:port]?master=NAME[&addr=host:port...]
//	rediss+cluster://..., rediss+sentinel://...    over TLS
//
// The port defaults to 6379 (26379 for Sentinel addresses). For a cluster
// the host and every addr are seed nodes; for Sentinel they are the
// Sentinels and the user and password are those of the data servers. A
// "rediss" scheme enables TLS, verifying each server against the address
// dialled; the password must be percent-encoded where it holds reserved
// characters.
//
// daemonflag's own query parameters (each at most once, except addr):
// prefix (the key prefix; a hash tag may be written as is, "?prefix={ld}"),
// addr, master, ca_file (a PEM CA bundle; enables TLS),
// allow_unhashed_cluster_prefix (true/false), sentinel_username,
// sentinel_password, dial_attempts, upsert_attempts, batch_size, notify
// (messages, keyspace or off; see [Options.Notify]). Every other parameter
// is go-redis's, parsed by go-redis's own [goredis.ParseURL] into
// [Options.Redis]: db, pool_size, dial_timeout, read_timeout, write_timeout
// (Go durations such as "500ms"), max_retries, client_name, pool_timeout,
// min_idle_conns, conn_max_idle_time, skip_verify and the others go-redis
// documents. An unknown parameter is an error, so a misspelt option is not
// silently ignored.
func ParseURL(s string) (*Options, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	o := &Options{}
	scheme := strings.ToLower(u.Scheme)
	base, mode, hasMode := strings.Cut(scheme, "+")
	if base != "redis" && base != "rediss" {
		return nil, fmt.Errorf("redis URL: scheme %q is not one of redis, rediss, redis+cluster, redis+sentinel (or rediss+...)", u.Scheme)
	}
	sentinel := false
	switch {
	case !hasMode:
	case mode == "cluster":
		o.Cluster = true
	case mode == "sentinel":
		sentinel = true
	default:
		return nil, fmt.Errorf("redis URL: scheme %q: %q is not +cluster or +sentinel", u.Scheme, "+"+mode)
	}
	switch {
	case u.Opaque != "":
		return nil, fmt.Errorf("redis URL: %q has no //host part", u.Scheme+":"+u.Opaque)
	case u.Fragment != "":
		return nil, errors.New("redis URL: a #fragment is not allowed")
	case u.Host == "":
		return nil, errors.New("redis URL: no host")
	}
	port := defaultPort
	if sentinel {
		port = defaultSentinel
	}
	first, err := hostPort(u.Host, port)
	if err != nil {
		return nil, err
	}
	o.Addrs = []string{first}

	// daemonflag's parameters; the rest go to go-redis.
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("redis URL: query: %w", err)
	}
	own, err := takeOwnParams(q, o)
	if err != nil {
		return nil, err
	}
	master := own.master
	for _, a := range q[qAddr] {
		hp, err := hostPort(a, port)
		if err != nil {
			return nil, fmt.Errorf("redis URL: addr: %w", err)
		}
		o.Addrs = append(o.Addrs, hp)
	}
	delete(q, qAddr)
	switch {
	case sentinel && master == "":
		return nil, errors.New("redis URL: a redis+sentinel URL needs ?master=NAME")
	case !sentinel && master != "":
		return nil, errors.New("redis URL: ?master= is only for redis+sentinel URLs")
	case !sentinel && !o.Cluster && len(o.Addrs) > 1:
		return nil, errors.New("redis URL: ?addr= is only for redis+cluster and redis+sentinel URLs")
	}
	o.MasterName = master

	// go-redis parses the rest: user and password, database, TLS and its
	// own parameters.
	g := *u
	g.Scheme, g.Host, g.RawQuery = base, first, q.Encode()
	ro, err := goredis.ParseURL(g.String())
	if err != nil {
		// go-redis's errors name the option, never the password.
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	if o.Cluster && ro.DB != 0 {
		return nil, errors.New("redis URL: a Redis Cluster has only database 0")
	}
	if ro.TLSConfig != nil {
		// No ServerName: the TLS dialer takes it from each address dialled,
		// which is right for every node of a cluster or Sentinel set.
		ro.TLSConfig.ServerName = ""
	}
	o.Redis = universalFrom(ro)
	o.Redis.SentinelUsername, o.Redis.SentinelPassword = own.sentinelUser, own.sentinelPass
	return o, nil
}

// ownParams are the daemonflag parameters of a URL that are not fields of
// Options themselves.
type ownParams struct{ master, sentinelUser, sentinelPass string }

// takeOwnParams moves daemonflag's parameters (but addr) out of q, into o
// and the result.
func takeOwnParams(q url.Values, o *Options) (ownParams, error) {
	var own ownParams
	var allow string
	for _, p := range []struct {
		name string
		str  *string
		num  *int
	}{
		{name: qPrefix, str: &o.Prefix}, {name: qMaster, str: &own.master}, {name: qCAFile, str: &o.TLSCAFile},
		{name: qAllowUnhashed, str: &allow}, {name: qSentinelUser, str: &own.sentinelUser},
		{name: qSentinelPass, str: &own.sentinelPass}, {name: qNotify, str: &o.Notify},
		{name: qUpsertAttempts, num: &o.UpsertAttempts}, {name: qDialAttempts, num: &o.DialAttempts},
		{name: qBatchSize, num: &o.BatchSize},
	} {
		vs, ok := q[p.name]
		if !ok {
			continue
		}
		delete(q, p.name)
		switch {
		case len(vs) != 1:
			return own, fmt.Errorf("redis URL: parameter %q is given %d times", p.name, len(vs))
		case len(vs[0]) > maxURLParamValue:
			return own, fmt.Errorf("redis URL: parameter %q is too long", p.name)
		case p.str != nil:
			*p.str = vs[0]
		default:
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 {
				return own, fmt.Errorf("redis URL: parameter %s=%q is not a whole number >= 0", p.name, vs[0])
			}
			*p.num = n
		}
	}
	if allow != "" {
		b, err := strconv.ParseBool(allow)
		if err != nil {
			return own, fmt.Errorf("redis URL: parameter %s=%q is not true or false", qAllowUnhashed, allow)
		}
		o.AllowUnhashedClusterPrefix = b
	}
	return own, nil
}

// universalFrom carries go-redis's parsed single-server options over to
// the universal options a Cluster or Sentinel client is built from too.
func universalFrom(r *goredis.Options) goredis.UniversalOptions {
	return goredis.UniversalOptions{
		ClientName: r.ClientName, DB: r.DB, Protocol: r.Protocol,
		Username: r.Username, Password: r.Password,
		MaxRetries: r.MaxRetries, MinRetryBackoff: r.MinRetryBackoff, MaxRetryBackoff: r.MaxRetryBackoff,
		DialTimeout: r.DialTimeout, ReadTimeout: r.ReadTimeout, WriteTimeout: r.WriteTimeout,
		PoolFIFO: r.PoolFIFO, PoolSize: r.PoolSize, PoolTimeout: r.PoolTimeout,
		MinIdleConns: r.MinIdleConns, MaxIdleConns: r.MaxIdleConns, MaxActiveConns: r.MaxActiveConns,
		ConnMaxIdleTime: r.ConnMaxIdleTime, ConnMaxLifetime: r.ConnMaxLifetime,
		TLSConfig: r.TLSConfig,
	}
}

// hostPort validates host[:port] (an IPv6 host in brackets) and adds defPort
// when the port is absent.
func hostPort(s, defPort string) (string, error) {
	host, port := s, defPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if port == "" {
			port = defPort
		}
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	} else if strings.Contains(s, ":") {
		return "", fmt.Errorf("redis URL: %q is not host[:port]", s)
	}
	if host == "" || strings.ContainsAny(host, "/@ ?#[]%\x00") {
		return "", fmt.Errorf("redis URL: %q is not host[:port]", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("redis URL: %q: port %q is not a number in 1-65535", s, port)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// resolve returns opts with the URL applied (explicit fields win) and
// defaults filled in.
func (opts Options) resolve() (Options, error) {
	o := opts
	if opts.URL != "" {
		p, err := ParseURL(opts.URL)
		if err != nil {
			return Options{}, err
		}
		o = *p
		override(&o, &opts)
		override(&o.Redis, &opts.Redis)
		o.URL = ""
	}
	if len(o.Addrs) == 0 {
		o.Addrs = []string{DefaultAddr}
	}
	if o.Redis.MaxRetries == 0 {
		o.Redis.MaxRetries = DefaultMaxRetries
	}
	o.applyStoreDefaults()
	switch r := o.Redis; {
	case r.PoolSize < 0:
		return Options{}, fmt.Errorf("redis: PoolSize %d is negative", r.PoolSize)
	case r.DB < 0:
		return Options{}, fmt.Errorf("redis: DB %d is negative", r.DB)
	case r.DB != 0 && o.MasterName == "" && (o.Cluster || len(o.Addrs) > 1):
		return Options{}, errors.New("redis: a Redis Cluster has only database 0")
	case r.MaxRetries < -1:
		return Options{}, fmt.Errorf("redis: MaxRetries %d is below -1", r.MaxRetries)
	}
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return Options{}, fmt.Errorf("redis: TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Options{}, fmt.Errorf("redis: TLS CA file %s holds no PEM certificate", o.TLSCAFile)
		}
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.Redis.TLSConfig != nil {
			cfg = o.Redis.TLSConfig.Clone()
		}
		cfg.RootCAs = pool
		o.Redis.TLSConfig = cfg
	}
	return o, nil
}

// override sets each field of dst that is set (not zero) in src; Redis,
// a struct of its own, is merged separately.
func override[T any](dst, src *T) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := range s.NumField() {
		if f := s.Field(i); !f.IsZero() && s.Type().Field(i).Name != "Redis" {
			d.Field(i).Set(f)
		}
	}
}

// applyStoreDefaults fills in the defaults of the fields NewFromClient uses.
func (o *Options) applyStoreDefaults() {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.UpsertAttempts <= 0 {
		o.UpsertAttempts = DefaultUpsertAttempts
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
}

// newClient creates the go-redis client resolved Options describe: a
// failover client for Sentinel, a Cluster client, or a single-node client;
// and, for a single-node client whose connections open with a bare HELLO,
// the firstConn that makes the store's first round trip (see firstconn.go).
func (o Options) newClient() (goredis.UniversalClient, *firstConn) {
	u := o.Redis
	u.Addrs, u.MasterName = o.Addrs, o.MasterName
	u.IsClusterMode = o.Cluster && o.MasterName == ""
	u.ContextTimeoutEnabled = true
	u.DisableIdentity = true
	if u.Protocol == 0 {
		u.Protocol = 2
	}
	var first *firstConn
	if u.Dialer == nil {
		u.Dialer = nudgeDialer(u.DialTimeout, u.TLSConfig) // see dial.go
		if answersBareHello(&u) {
			if o.MasterName == "" && !o.Cluster && len(o.Addrs) == 1 && u.DB == 0 {
				first = &firstConn{dial: u.Dialer, network: "tcp", addr: o.Addrs[0], timeout: firstTimeout(u)}
				u.Dialer = first.dialer(u.Dialer)
			}
			u.Dialer = helloDialer(u.Dialer) // see handshake.go
		}
	}
	if u.ReadBufferSize == 0 {
		u.ReadBufferSize = DefaultBufferSize
	}
	if u.WriteBufferSize == 0 {
		u.WriteBufferSize = DefaultBufferSize
	}
	// Maintenance notifications are a Redis Enterprise feature. In go-redis
	// v9.17 their "auto" mode also races: the first connection rewrites the
	// client's options while Watch clones them (redis/go-redis#3739, fixed
	// after v9.17.3).
	u.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	u.Dialer = lazyDialer(u.Dialer, u.DialTimeout, u.TLSConfig) // see lazyconn.go
	dial := max(o.DialAttempts, 1)
	// go-redis sleeps this long after every failed dial, the last one
	// included: with a single attempt, do not sleep at all.
	pause := 100 * time.Millisecond
	if dial == 1 {
		pause = time.Nanosecond
	}
	switch {
	case o.MasterName != "":
		f := u.Failover()
		f.DialerRetries, f.DialerRetryTimeout = dial, pause
		return goredis.NewFailoverClient(f), nil
	case o.Cluster || len(o.Addrs) > 1:
		c := u.Cluster()
		c.DialerRetries, c.DialerRetryTimeout = dial, pause
		return goredis.NewClusterClient(c), nil
	default:
		c := u.Simple()
		c.DialerRetries, c.DialerRetryTimeout = dial, pause
		if c.Network != "" && c.Network != "tcp" || strings.HasPrefix(c.Addr, "/") {
			first = nil // a Unix socket
		}
		return goredis.NewClient(c), first
	}
}

// firstTimeout is how long the first round trip may take when its context
// sets no deadline: a dial and a read, as go-redis would allow them
// (its defaults: 5 s and 3 s).
func firstTimeout(u goredis.UniversalOptions) time.Duration {
	dial, read := u.DialTimeout, u.ReadTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	if read <= 0 {
		read = 3 * time.Second
	}
	return dial + read
}
