package stores

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/stores/dynamodb"
	"github.com/daemonflag/daemonflag/stores/file"
	"github.com/daemonflag/daemonflag/stores/redis"
)

// Backend names the kind of store an address selects.
type Backend string

// The backends an address can name.
const (
	Bolt     Backend = "bolt"
	Redis    Backend = "redis"
	DynamoDB Backend = "dynamodb"
	File     Backend = "file"
)

// Example addresses, one per form; errors show the one that fits.
const (
	ExampleBolt          = "bolt:./flags.db"
	ExampleRedis         = "redis://localhost:6379/0?prefix=launchdarkly"
	ExampleRedisTLS      = "rediss://:PASSWORD@redis.example.com:6380"
	ExampleRedisCluster  = "redis+cluster://10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379&prefix={launchdarkly}"
	ExampleRedisSentinel = "redis+sentinel://10.0.0.1:26379?master=mymaster&addr=10.0.0.2:26379"
	ExampleDynamoDB      = "dynamodb://flags?region=eu-west-1&prefix=prod"
	ExampleFile          = "file:./flags.yaml,./more-flags.json"
)

// schemes lists the address schemes, for the error about an unknown one.
const schemes = "bolt:, redis://, rediss://, redis+cluster://, redis+sentinel://, dynamodb://, file:"

// Address is a parsed store address. Exactly one of Bolt, Redis, DynamoDB
// and File is set, according to Backend; Open uses them as they are, so a
// program may adjust them (a timeout, a logger) before opening.
type Address struct {
	// Backend is the kind of store.
	Backend Backend

	// Prefix is the dataset's prefix in effect: the address's prefix
	// parameter, or the backend's default ("launchdarkly" for bbolt and
	// Redis, "" for DynamoDB).
	Prefix string

	// BoltPath is the bbolt store file (bolt addresses only).
	BoltPath string

	// Bolt, Redis and DynamoDB are the backend options the address
	// describes; the other two are nil.
	Bolt     *bolt.Options
	Redis    *redis.Options
	DynamoDB *dynamodb.Options

	// FilePaths are the flag data files of a file address, and File its
	// options (file addresses only; Prefix is then empty).
	FilePaths []string
	File      *file.Options

	// redacted is the address as given, with any password replaced.
	redacted string
}

// String returns the address as it was given, with any password (in the
// user information or a sentinel_password parameter) replaced by "xxxxx",
// so it is safe to log.
func (a Address) String() string { return a.redacted }

// AddressError reports an invalid store address. Its message is one line:
// the address (passwords hidden), what is wrong, and an example of a good
// address of the same kind.
type AddressError struct {
	// Address is the address as given, passwords hidden.
	Address string
	// Problem says what is wrong.
	Problem string
	// Example is a valid address of the kind the address seems to be.
	Example string
}

// Error implements error.
func (e *AddressError) Error() string {
	return fmt.Sprintf("store address %q: %s (example: %s)", e.Address, e.Problem, e.Example)
}

// Parse parses a store address (see the package documentation for the
// forms). It does no I/O. Errors are *AddressError.
func Parse(addr string) (Address, error) {
	raw := addr
	addr = strings.TrimSpace(addr)
	red := Redact(addr)
	fail := func(example, format string, args ...any) (Address, error) {
		return Address{}, &AddressError{Address: Redact(raw), Problem: oneLine(fmt.Sprintf(format, args...)), Example: example}
	}
	if addr == "" {
		return fail(ExampleBolt, "empty; give one of %s", schemes)
	}
	scheme, rest, ok := strings.Cut(addr, ":")
	if !ok || scheme == "" || strings.ContainsAny(scheme, `/\. `) {
		return fail(ExampleBolt, "no scheme; a bbolt file is written bolt:PATH, other stores as one of %s", schemes)
	}
	switch lower := strings.ToLower(scheme); {
	case lower == "bolt" || lower == "bbolt":
		return parseBolt(rest, red, fail)
	case lower == "redis" || lower == "rediss" || strings.HasPrefix(lower, "redis+") || strings.HasPrefix(lower, "rediss+"):
		example := redisExample(lower)
		o, err := redis.ParseURL(addr)
		if err != nil {
			return fail(example, "%s", strings.TrimPrefix(err.Error(), "redis URL: "))
		}
		if o.Cluster && !o.AllowUnhashedClusterPrefix && !hasHashTag(o.Prefix) {
			p := o.Prefix
			if p == "" {
				p = redis.DefaultPrefix
			}
			return fail(example, "a Redis Cluster needs a prefix with a {hash tag} so that the dataset lives in one hash slot: "+
				"add ?prefix={%s} (or allow_unhashed_cluster_prefix=true to share LaunchDarkly's untagged default)", strings.Trim(p, "{}"))
		}
		p := o.Prefix
		if p == "" {
			p = redis.DefaultPrefix
		}
		return Address{Backend: Redis, Prefix: p, Redis: o, redacted: red}, nil
	case lower == "dynamodb":
		o, err := dynamodb.ParseURL(addr)
		if err != nil {
			msg := err.Error()
			msg = strings.TrimPrefix(msg, "dynamodb: ")
			msg = strings.TrimPrefix(msg, fmt.Sprintf("store URL %q: ", addr))
			return fail(ExampleDynamoDB, "%s", msg)
		}
		return Address{Backend: DynamoDB, Prefix: o.Prefix, DynamoDB: o, redacted: red}, nil
	case lower == "file":
		return parseFile(rest, red, fail)
	default:
		return fail(ExampleBolt, "unknown scheme %q; use one of %s", scheme, schemes)
	}
}

// parseBolt parses what follows "bolt:": PATH[?prefix=P][&mkdir=true].
// "bolt://PATH" is accepted too, so "bolt:///var/lib/flags.db" names an
// absolute path. mkdir=true lets a writer create the file's directory
// (bolt.Options.MakeDirs).
func parseBolt(rest, red string, fail func(string, string, ...any) (Address, error)) (Address, error) {
	rest = strings.TrimPrefix(rest, "//")
	path, query, hasQuery := strings.Cut(rest, "?")
	if path == "" {
		return fail(ExampleBolt, "no file path after bolt:")
	}
	if strings.ContainsRune(path, 0) {
		return fail(ExampleBolt, "the file path holds a NUL byte")
	}
	o := &bolt.Options{}
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return fail(ExampleBolt, "query: %v", err)
		}
		for name, vals := range q {
			if name != "prefix" && name != "mkdir" {
				return fail(ExampleBolt+"?prefix=prod", "unknown parameter %q (a bolt address takes prefix and mkdir)", name)
			}
			if len(vals) != 1 {
				return fail(ExampleBolt+"?prefix=prod", "parameter %q is given %d times", name, len(vals))
			}
			if name == "mkdir" {
				mk, err := strconv.ParseBool(vals[0])
				if err != nil {
					return fail(ExampleBolt+"?mkdir=true", "mkdir=%q is not true or false", vals[0])
				}
				o.MakeDirs = mk
				continue
			}
			o.Prefix = vals[0]
		}
		if q.Has("prefix") {
			switch {
			case o.Prefix == "":
				return fail(ExampleBolt+"?prefix=prod", "empty prefix (leave the parameter out for the default %q)", bolt.DefaultPrefix)
			case strings.HasPrefix(o.Prefix, "$"):
				return fail(ExampleBolt+"?prefix=prod", "prefix %q begins with '$', which bbolt stores reserve", o.Prefix)
			}
		}
	}
	p := o.Prefix
	if p == "" {
		p = bolt.DefaultPrefix
	}
	return Address{Backend: Bolt, Prefix: p, BoltPath: path, Bolt: o, redacted: red}, nil
}

func redisExample(scheme string) string {
	switch {
	case strings.HasSuffix(scheme, "+cluster"):
		return ExampleRedisCluster
	case strings.HasSuffix(scheme, "+sentinel"):
		return ExampleRedisSentinel
	case scheme == "rediss":
		return ExampleRedisTLS
	}
	return ExampleRedis
}

// hasHashTag reports whether a Redis key prefix holds a hash tag: a '{'
// followed, later, by a '}' with at least one byte between them (Redis's
// rule for the first '{').
func hasHashTag(prefix string) bool {
	open := strings.IndexByte(prefix, '{')
	if open < 0 {
		return false
	}
	close := strings.IndexByte(prefix[open+1:], '}')
	return close > 0
}

// Redact returns addr with the password in its user information and the
// value of any sentinel_password parameter replaced by "xxxxx". It works on
// addresses that do not parse, too, so that error messages never show a
// password.
func Redact(addr string) string {
	if i := strings.Index(addr, "://"); i >= 0 {
		start := i + len("://")
		end := len(addr)
		if j := strings.IndexAny(addr[start:], "/?#"); j >= 0 {
			end = start + j
		}
		if at := strings.LastIndexByte(addr[start:end], '@'); at >= 0 {
			userinfo := addr[start : start+at]
			if user, _, ok := strings.Cut(userinfo, ":"); ok {
				addr = addr[:start] + user + ":xxxxx" + addr[start+at:]
			}
		}
	}
	return redactParam(addr, "sentinel_password")
}

// redactParam replaces the value of every query parameter named name.
func redactParam(addr, name string) string {
	q := strings.IndexByte(addr, '?')
	if q < 0 {
		return addr
	}
	head, query := addr[:q+1], addr[q+1:]
	frag := ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok && k == name {
			parts[i] = k + "=xxxxx"
		}
	}
	return head + strings.Join(parts, "&") + frag
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
