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
const (
	DefaultUpsertAttempts = 20
	DefaultBatchSize      = 1000
	DefaultDialTimeout    = 5 * time.Second
	DefaultReadTimeout    = 3 * time.Second
	DefaultMaxRetries     = 1
)

// Options configures a [Store]. The zero value connects to a single Redis
// server at localhost:6379 with prefix "launchdarkly". Every field's zero
// value is its documented default.
type Options struct {
	// URL describes the server(s) in one string; see [ParseURL] for the
	// forms. Fields set explicitly in Options override what the URL says.
	// Empty: the connection comes from the other fields.
	URL string

	// Addrs are host:port addresses: one address for a single server, the
	// seed nodes of a Redis Cluster (two or more addresses, or one with
	// Cluster set), or the Sentinel addresses when MasterName is set. Empty
	// (and no URL): localhost:6379.
	Addrs []string

	// Cluster selects a Redis Cluster client even with a single seed
	// address. Two or more Addrs without MasterName select it anyway.
	Cluster bool

	// MasterName selects Redis Sentinel: Addrs are then the Sentinels, and
	// the client follows the master they name (go-redis's failover client).
	MasterName string

	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// when they require it. Empty: no authentication to Sentinels.
	SentinelUsername string
	SentinelPassword string

	// Username and Password authenticate to the data servers: an ACL user
	// (Redis 6 and later), or Password alone for requirepass. Empty: none.
	Username string
	Password string

	// DB is the logical database of a single server or Sentinel master.
	// Zero: database 0, the only one a Redis Cluster has.
	DB int

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

	// TLSConfig enables TLS with this configuration (for example a custom
	// RootCAs pool or a client certificate). A "rediss" URL enables TLS
	// with the system roots and the URL's host as server name. Nil and a
	// "redis" URL and no TLSCAFile: plain TCP.
	TLSConfig *tls.Config

	// TLSCAFile names a PEM file of CA certificates to verify the servers
	// with, in place of the system roots. Setting it enables TLS. Empty:
	// TLSConfig's RootCAs, or the system roots.
	TLSCAFile string

	// PoolSize is the maximum number of connections per server. Zero:
	// go-redis's default, 10 per available CPU.
	PoolSize int

	// DialTimeout bounds establishing a connection. Zero:
	// [DefaultDialTimeout] (5 s).
	DialTimeout time.Duration

	// ReadTimeout and WriteTimeout bound each socket read and write; a
	// command that exceeds them fails with an error wrapping
	// store.ErrUnavailable. The context passed to each call bounds it too.
	// Zero: [DefaultReadTimeout] (3 s) for reads, ReadTimeout for writes.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// MaxRetries is how many times go-redis retries a command after a
	// network error (a refused dial or a connection the server closed) or a
	// transient server state (LOADING, TRYAGAIN, ...), 8 ms or more apart.
	// Zero: 1, so a pooled connection broken by a server restart is
	// replaced without an error, and an outage is still reported within
	// milliseconds (go-redis's own default is 3, with up to 512 ms between
	// tries). -1: no retries.
	MaxRetries int

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
}

// Values of [Options.Notify].
const (
	NotifyMessages = "messages" // this package's change messages (pub/sub)
	NotifyKeyspace = "keyspace" // the server's keyspace notifications
	NotifyOff      = "off"      // no notification: the cache's TTL only
)

// Recognised URL query parameters, see ParseURL.
const (
	qPrefix          = "prefix"
	qAddr            = "addr"
	qMaster          = "master"
	qDB              = "db"
	qPoolSize        = "pool_size"
	qDialTimeout     = "dial_timeout"
	qReadTimeout     = "read_timeout"
	qWriteTimeout    = "write_timeout"
	qMaxRetries      = "max_retries"
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
	schemeRedis      = "redis"
	schemeRedisTLS   = "rediss"
	suffixCluster    = "+cluster"
	suffixSentinel   = "+sentinel"
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
// "rediss" scheme enables TLS with the URL's host as server name; the
// password must be percent-encoded where it holds reserved characters.
//
// Query parameters (each at most once, except addr): prefix (the key
// prefix; a hash tag may be written as is, "?prefix={ld}"), addr, master,
// db, pool_size, dial_timeout, read_timeout, write_timeout (Go durations
// such as "500ms"), max_retries, ca_file (a PEM CA bundle; enables TLS),
// allow_unhashed_cluster_prefix (true/false), sentinel_username,
// sentinel_password, dial_attempts, upsert_attempts, batch_size, notify
// (messages, keyspace or off; see [Options.Notify]). An unknown parameter is an
// error, so a misspelt option is not silently ignored.
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
	switch base {
	case schemeRedis:
	case schemeRedisTLS:
		// No ServerName: the TLS dialer takes it from each address dialled,
		// which is right for every node of a cluster or Sentinel set.
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("redis URL: scheme %q is not one of redis, rediss, redis+cluster, redis+sentinel (or rediss+...)", u.Scheme)
	}
	sentinel := false
	switch {
	case !hasMode:
	case "+"+mode == suffixCluster:
		o.Cluster = true
	case "+"+mode == suffixSentinel:
		sentinel = true
	default:
		return nil, fmt.Errorf("redis URL: scheme %q: %q is not +cluster or +sentinel", u.Scheme, "+"+mode)
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("redis URL: %q has no //host part", u.Scheme+":"+u.Opaque)
	}
	if u.Fragment != "" {
		return nil, errors.New("redis URL: a #fragment is not allowed")
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}

	port := defaultPort
	if sentinel {
		port = defaultSentinel
	}
	if u.Host == "" {
		return nil, errors.New("redis URL: no host")
	}
	first, err := hostPort(u.Host, port)
	if err != nil {
		return nil, err
	}
	o.Addrs = []string{first}

	switch p := strings.Trim(u.Path, "/"); {
	case p == "":
	case strings.Contains(p, "/"):
		return nil, fmt.Errorf("redis URL: path %q is not a database number", u.Path)
	default:
		db, err := strconv.Atoi(p)
		if err != nil || db < 0 {
			return nil, fmt.Errorf("redis URL: path %q is not a database number", u.Path)
		}
		o.DB = db
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("redis URL: query: %w", err)
	}
	one := func(name string) (string, bool, error) {
		vs, ok := q[name]
		if !ok {
			return "", false, nil
		}
		delete(q, name)
		if len(vs) != 1 {
			return "", false, fmt.Errorf("redis URL: parameter %q is given %d times", name, len(vs))
		}
		if len(vs[0]) > maxURLParamValue {
			return "", false, fmt.Errorf("redis URL: parameter %q is too long", name)
		}
		return vs[0], true, nil
	}
	str := func(name string, dst *string) error {
		v, ok, err := one(name)
		if ok {
			*dst = v
		}
		return err
	}
	num := func(name string, dst *int, min int) error {
		v, ok, err := one(name)
		if err != nil || !ok {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return fmt.Errorf("redis URL: parameter %s=%q is not a whole number >= %d", name, v, min)
		}
		*dst = n
		return nil
	}
	dur := func(name string, dst *time.Duration) error {
		v, ok, err := one(name)
		if err != nil || !ok {
			return err
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("redis URL: parameter %s=%q is not a duration such as 500ms or 3s", name, v)
		}
		*dst = d
		return nil
	}
	var allow, master string
	var dbParam = -1
	for _, err := range []error{
		str(qPrefix, &o.Prefix),
		str(qMaster, &master),
		num(qDB, &dbParam, 0),
		num(qPoolSize, &o.PoolSize, 0),
		dur(qDialTimeout, &o.DialTimeout),
		dur(qReadTimeout, &o.ReadTimeout),
		dur(qWriteTimeout, &o.WriteTimeout),
		num(qMaxRetries, &o.MaxRetries, -1),
		str(qCAFile, &o.TLSCAFile),
		str(qAllowUnhashed, &allow),
		str(qSentinelUser, &o.SentinelUsername),
		str(qSentinelPass, &o.SentinelPassword),
		num(qUpsertAttempts, &o.UpsertAttempts, 0),
		num(qDialAttempts, &o.DialAttempts, 0),
		num(qBatchSize, &o.BatchSize, 0),
		str(qNotify, &o.Notify),
	} {
		if err != nil {
			return nil, err
		}
	}
	if dbParam >= 0 {
		o.DB = dbParam
	}
	if allow != "" {
		b, err := strconv.ParseBool(allow)
		if err != nil {
			return nil, fmt.Errorf("redis URL: parameter %s=%q is not true or false", qAllowUnhashed, allow)
		}
		o.AllowUnhashedClusterPrefix = b
	}
	for _, a := range q[qAddr] {
		hp, err := hostPort(a, port)
		if err != nil {
			return nil, fmt.Errorf("redis URL: addr: %w", err)
		}
		o.Addrs = append(o.Addrs, hp)
	}
	delete(q, qAddr)
	if len(q) > 0 {
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		return nil, fmt.Errorf("redis URL: unknown parameter(s) %q", names)
	}

	switch {
	case sentinel:
		if master == "" {
			return nil, errors.New("redis URL: a redis+sentinel URL needs ?master=NAME")
		}
		o.MasterName = master
	case master != "":
		return nil, errors.New("redis URL: ?master= is only for redis+sentinel URLs")
	case !o.Cluster && len(o.Addrs) > 1:
		return nil, errors.New("redis URL: ?addr= is only for redis+cluster and redis+sentinel URLs")
	}
	if o.Cluster && o.DB != 0 {
		return nil, errors.New("redis URL: a Redis Cluster has only database 0")
	}
	return o, nil
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
		if len(opts.Addrs) > 0 {
			o.Addrs = opts.Addrs
		}
		o.Cluster = o.Cluster || opts.Cluster
		o.AllowUnhashedClusterPrefix = o.AllowUnhashedClusterPrefix || opts.AllowUnhashedClusterPrefix
		setStr := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		setInt := func(dst *int, v int) {
			if v != 0 {
				*dst = v
			}
		}
		setDur := func(dst *time.Duration, v time.Duration) {
			if v != 0 {
				*dst = v
			}
		}
		setStr(&o.MasterName, opts.MasterName)
		setStr(&o.SentinelUsername, opts.SentinelUsername)
		setStr(&o.SentinelPassword, opts.SentinelPassword)
		setStr(&o.Username, opts.Username)
		setStr(&o.Password, opts.Password)
		setStr(&o.Prefix, opts.Prefix)
		setStr(&o.TLSCAFile, opts.TLSCAFile)
		setStr(&o.Notify, opts.Notify)
		setInt(&o.DB, opts.DB)
		setInt(&o.PoolSize, opts.PoolSize)
		setInt(&o.MaxRetries, opts.MaxRetries)
		setInt(&o.UpsertAttempts, opts.UpsertAttempts)
		setInt(&o.DialAttempts, opts.DialAttempts)
		setInt(&o.BatchSize, opts.BatchSize)
		setDur(&o.DialTimeout, opts.DialTimeout)
		setDur(&o.ReadTimeout, opts.ReadTimeout)
		setDur(&o.WriteTimeout, opts.WriteTimeout)
		if opts.TLSConfig != nil {
			o.TLSConfig = opts.TLSConfig
		}
		o.Logger = opts.Logger
		o.URL = ""
	}
	if len(o.Addrs) == 0 {
		o.Addrs = []string{DefaultAddr}
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = o.ReadTimeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	o.applyStoreDefaults()
	switch {
	case o.PoolSize < 0:
		return Options{}, fmt.Errorf("redis: PoolSize %d is negative", o.PoolSize)
	case o.DB < 0:
		return Options{}, fmt.Errorf("redis: DB %d is negative", o.DB)
	case o.DB != 0 && o.MasterName == "" && (o.Cluster || len(o.Addrs) > 1):
		return Options{}, errors.New("redis: a Redis Cluster has only database 0")
	case o.MaxRetries < -1:
		return Options{}, fmt.Errorf("redis: MaxRetries %d is below -1", o.MaxRetries)
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
		var cfg *tls.Config
		if o.TLSConfig != nil {
			cfg = o.TLSConfig.Clone()
		} else {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		cfg.RootCAs = pool
		o.TLSConfig = cfg
	}
	return o, nil
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
// failover client for Sentinel, a Cluster client, or a single-node client.
func (o Options) newClient() goredis.UniversalClient {
	u := o.universal()
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
		return goredis.NewFailoverClient(f)
	case o.Cluster || len(o.Addrs) > 1:
		c := u.Cluster()
		c.DialerRetries, c.DialerRetryTimeout = dial, pause
		return goredis.NewClusterClient(c)
	default:
		c := u.Simple()
		c.DialerRetries, c.DialerRetryTimeout = dial, pause
		return goredis.NewClient(c)
	}
}

// universal converts resolved Options into go-redis options.
func (o Options) universal() *goredis.UniversalOptions {
	return &goredis.UniversalOptions{
		Addrs:            o.Addrs,
		IsClusterMode:    o.Cluster && o.MasterName == "",
		MasterName:       o.MasterName,
		SentinelUsername: o.SentinelUsername,
		SentinelPassword: o.SentinelPassword,
		Username:         o.Username,
		Password:         o.Password,
		DB:               o.DB,
		TLSConfig:        o.TLSConfig,
		PoolSize:         o.PoolSize,
		DialTimeout:      o.DialTimeout,
		ReadTimeout:      o.ReadTimeout,
		WriteTimeout:     o.WriteTimeout,
		MaxRetries:       o.MaxRetries,
		// The context of each call bounds it, as callers expect.
		ContextTimeoutEnabled: true,
		// CLIENT SETINFO is not in Redis 7.0 and needs an extra ACL grant.
		DisableIdentity: true,
		// Maintenance notifications are a Redis Enterprise feature. In
		// go-redis v9.17 their "auto" mode also races: the first connection
		// rewrites the client's options while Watch clones them
		// (redis/go-redis#3739, fixed after v9.17.3).
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}
