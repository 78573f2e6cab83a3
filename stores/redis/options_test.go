package redis

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// view is what a test compares of parsed Options: daemonflag's fields and
// the go-redis options a URL can set.
type view struct {
	Addrs                         []string
	Cluster                       bool
	MasterName, Prefix, TLSCAFile string
	Allow                         bool
	Username, Password, SentPass  string
	DB, PoolSize, MaxRetries      int
	TLS                           bool
	Dial, Read, Write             time.Duration
	Upsert, Batch, DialAttempts   int
	Notify                        string
}

func viewOf(o *Options) view {
	r := o.Redis
	return view{o.Addrs, o.Cluster, o.MasterName, o.Prefix, o.TLSCAFile, o.AllowUnhashedClusterPrefix,
		r.Username, r.Password, r.SentinelPassword, r.DB, r.PoolSize, r.MaxRetries, r.TLSConfig != nil,
		r.DialTimeout, r.ReadTimeout, r.WriteTimeout, o.UpsertAttempts, o.BatchSize, o.DialAttempts, o.Notify}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		url  string
		want view
	}{
		{"redis://localhost", view{Addrs: []string{"localhost:6379"}}},
		{"redis://127.0.0.1:7000/3", view{Addrs: []string{"127.0.0.1:7000"}, DB: 3}},
		{"REDIS://h:1/", view{Addrs: []string{"h:1"}}},
		{"redis://:s%40cret@h", view{Addrs: []string{"h:6379"}, Password: "s@cret"}},
		{"redis://user:pw@h?prefix={ld}", view{Addrs: []string{"h:6379"}, Username: "user", Password: "pw", Prefix: "{ld}"}},
		{"redis://user@h", view{Addrs: []string{"h:6379"}, Username: "user"}},
		{"redis://[::1]:6380", view{Addrs: []string{"[::1]:6380"}}},
		{"redis://[::1]", view{Addrs: []string{"[::1]:6379"}}},
		{"rediss://cache.example:6380", view{Addrs: []string{"cache.example:6380"}, TLS: true}},
		{"redis://h?db=2&pool_size=20&dial_timeout=1s&read_timeout=250ms&write_timeout=2s&max_retries=-1",
			view{Addrs: []string{"h:6379"}, DB: 2, PoolSize: 20, Dial: time.Second,
				Read: 250 * time.Millisecond, Write: 2 * time.Second, MaxRetries: -1}},
		{"redis://h?upsert_attempts=5&batch_size=100&dial_attempts=3&notify=keyspace",
			view{Addrs: []string{"h:6379"}, Upsert: 5, Batch: 100, DialAttempts: 3, Notify: NotifyKeyspace}},
		{"redis+cluster://a:7000?addr=b:7001&addr=c&prefix=%7Bld%7D",
			view{Addrs: []string{"a:7000", "b:7001", "c:6379"}, Cluster: true, Prefix: "{ld}"}},
		{"redis+cluster://a?allow_unhashed_cluster_prefix=true",
			view{Addrs: []string{"a:6379"}, Cluster: true, Allow: true}},
		{"rediss+cluster://a", view{Addrs: []string{"a:6379"}, Cluster: true, TLS: true}},
		{"redis+sentinel://u:p@s1?master=mymaster&addr=s2:26380&sentinel_password=sp",
			view{Addrs: []string{"s1:26379", "s2:26380"}, MasterName: "mymaster", Username: "u", Password: "p", SentPass: "sp"}},
		{"redis://h?ca_file=/etc/ca.pem", view{Addrs: []string{"h:6379"}, TLSCAFile: "/etc/ca.pem"}},
	}
	for _, c := range cases {
		got, err := ParseURL(c.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.url, err)
			continue
		}
		if !reflect.DeepEqual(viewOf(got), c.want) {
			t.Errorf("ParseURL(%q)\n got %+v\nwant %+v", c.url, viewOf(got), c.want)
		}
		if got.Redis.TLSConfig != nil && got.Redis.TLSConfig.ServerName != "" {
			t.Errorf("ParseURL(%q): TLS server name %q; want each dialled address", c.url, got.Redis.TLSConfig.ServerName)
		}
	}
	// go-redis's own parameters beyond those daemonflag documents pass
	// through to go-redis.
	o, err := ParseURL("redis://h?client_name=flags&min_idle_conns=2&pool_timeout=4s")
	if err != nil || o.Redis.ClientName != "flags" || o.Redis.MinIdleConns != 2 || o.Redis.PoolTimeout != 4*time.Second {
		t.Errorf("go-redis parameters: %+v, %v", o, err)
	}
}

func TestParseURLErrors(t *testing.T) {
	cases := map[string]string{
		"":                                  "scheme",
		"localhost:6379":                    "scheme",
		"http://h":                          "scheme",
		"redis+ring://h":                    "+ring",
		"unix:///tmp/redis.sock":            "scheme",
		"redis:opaque":                      "no //host",
		"redis://":                          "no host",
		"redis://h:0":                       "port",
		"redis://h:99999":                   "port",
		"redis://h:abc":                     "port",
		"redis://h/x":                       "database",
		"redis://h/1/2":                     "path",
		"redis://h?prefix=a&prefix=b":       "2 times",
		"redis://h?colour=blue":             "unexpected option: colour",
		"redis://h?read_timeout=fast":       "read_timeout",
		"redis://h?batch_size=-2":           "whole number",
		"redis://h?master=m":                "only for redis+sentinel",
		"redis://h?addr=b":                  "only for redis+cluster",
		"redis+sentinel://h":                "master=NAME",
		"redis+cluster://h/2":               "database 0",
		"redis+cluster://h?addr=bad:port:x": "addr",
		"redis://h?allow_unhashed_cluster_prefix=x": "true or false",
		"redis://h#frag":       "fragment",
		"redis://user:p%zzw@h": "redis URL",
	}
	for url, want := range cases {
		_, err := ParseURL(url)
		if err == nil {
			t.Errorf("ParseURL(%q): no error, want one mentioning %q", url, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q): error %q does not mention %q", url, err, want)
		}
	}
	// A password never appears in an error.
	if _, err := ParseURL("redis://user:hunter2@h:bad"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v repeats the password", err)
	}
}

func TestOptionsResolve(t *testing.T) {
	// Defaults.
	o, err := Options{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Addrs, []string{DefaultAddr}) || o.Prefix != DefaultPrefix || o.Redis.MaxRetries != DefaultMaxRetries ||
		o.UpsertAttempts != DefaultUpsertAttempts || o.BatchSize != DefaultBatchSize {
		t.Errorf("defaults: %+v", o)
	}
	// Explicit fields override the URL's, go-redis's included.
	o, err = Options{URL: "redis://u:p@h:1/2?prefix=a&read_timeout=1s", Prefix: "b",
		Redis: goredis.UniversalOptions{Password: "q", ReadTimeout: 2 * time.Second}}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if o.Prefix != "b" || o.Redis.Password != "q" || o.Redis.Username != "u" || o.Redis.DB != 2 || o.Redis.ReadTimeout != 2*time.Second || o.Addrs[0] != "h:1" {
		t.Errorf("merge: %+v", o)
	}
	// A CA file enables TLS; a bad one is an error.
	dir := t.TempDir()
	if _, err := (Options{TLSCAFile: filepath.Join(dir, "missing.pem")}).resolve(); err == nil {
		t.Error("missing CA file: no error")
	}
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Options{TLSCAFile: bad}).resolve(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA file without certificates: %v", err)
	}
	for _, o := range []Options{{Redis: goredis.UniversalOptions{PoolSize: -1}}, {Redis: goredis.UniversalOptions{DB: -1}},
		{Redis: goredis.UniversalOptions{MaxRetries: -2}}, {Addrs: []string{"a:1", "b:1"}, Redis: goredis.UniversalOptions{DB: 1}}} {
		if _, err := o.resolve(); err == nil {
			t.Errorf("resolve(%+v): no error", o)
		}
	}
}

func TestNewPicksClient(t *testing.T) {
	cases := []struct {
		o    Options
		want any
	}{
		{Options{}, (*goredis.Client)(nil)},
		{Options{URL: "redis://127.0.0.1:1"}, (*goredis.Client)(nil)},
		{Options{URL: "redis+cluster://127.0.0.1:1?prefix={x}"}, (*goredis.ClusterClient)(nil)},
		{Options{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}, Prefix: "{x}"}, (*goredis.ClusterClient)(nil)},
		{Options{URL: "redis+sentinel://127.0.0.1:1?master=m"}, (*goredis.Client)(nil)},
	}
	for _, c := range cases {
		s, err := New(c.o)
		if err != nil {
			t.Errorf("New(%+v): %v", c.o, err)
			continue
		}
		if reflect.TypeOf(s.client) != reflect.TypeOf(c.want) {
			t.Errorf("New(%+v) made a %T, want %T", c.o, s.client, c.want)
		}
		_ = s.Close()
	}
}

func TestHashTag(t *testing.T) {
	cases := map[string]string{
		"{ld}":          "ld",
		"x{ld}y":        "ld",
		"{a}{b}":        "a",
		"{}x":           "",
		"{":             "",
		"}{a}":          "a",
		"launchdarkly":  "",
		"{{a}}":         "{a",
		"pre{fix:a}b}c": "fix:a",
	}
	for in, want := range cases {
		got, ok := hashTag(in)
		if got != want || ok != (want != "") {
			t.Errorf("hashTag(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestGlobEscape(t *testing.T) {
	if got := globEscape(`a*b?c[d]e\f`); got != `a\*b\?c\[d\]e\\f` {
		t.Errorf("globEscape = %q", got)
	}
	if got := globEscape("{plain}-prefix"); got != "{plain}-prefix" {
		t.Errorf("globEscape = %q", got)
	}
}

// FuzzParseURL lives in ./urlfuzz, a test binary of its own (see there).

// The go-redis client a Store makes speaks RESP2 with 4 KiB buffers unless
// the options say otherwise, for every kind of client.
func TestClientProtocolAndBufferDefaults(t *testing.T) {
	for _, o := range []Options{
		{Addrs: []string{"127.0.0.1:1"}},
		{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}},
		{Addrs: []string{"127.0.0.1:1"}, MasterName: "m"},
	} {
		c, _ := o.newClient()
		var got [3]int
		switch c := c.(type) {
		case *goredis.Client:
			got = [3]int{c.Options().Protocol, c.Options().ReadBufferSize, c.Options().WriteBufferSize}
		case *goredis.ClusterClient:
			got = [3]int{c.Options().Protocol, c.Options().ReadBufferSize, c.Options().WriteBufferSize}
		default:
			t.Fatalf("%+v: client %T", o, c)
		}
		_ = c.Close()
		if want := [3]int{2, DefaultBufferSize, DefaultBufferSize}; got != want {
			t.Errorf("%+v: protocol, read and write buffer = %v, want %v", o, got, want)
		}
	}
	o := Options{Addrs: []string{"127.0.0.1:1"}}
	o.Redis.Protocol, o.Redis.ReadBufferSize, o.Redis.WriteBufferSize = 3, 1<<15, 1<<14
	gc, _ := o.newClient()
	c := gc.(*goredis.Client)
	defer c.Close()
	if got := [3]int{c.Options().Protocol, c.Options().ReadBufferSize, c.Options().WriteBufferSize}; got != [3]int{3, 1 << 15, 1 << 14} {
		t.Errorf("explicit protocol and buffers: got %v", got)
	}
}
