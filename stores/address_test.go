package stores_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/stores"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		check      func(t *testing.T, a stores.Address)
	}{
		{"bolt relative", "bolt:./flags.db", func(t *testing.T, a stores.Address) {
			want(t, a.Backend, stores.Bolt)
			want(t, a.BoltPath, "./flags.db")
			want(t, a.Prefix, "launchdarkly")
			want(t, a.Bolt.Prefix, "")
		}},
		{"bolt absolute with prefix", "bolt:/var/lib/df/flags.db?prefix=prod", func(t *testing.T, a stores.Address) {
			want(t, a.BoltPath, "/var/lib/df/flags.db")
			want(t, a.Prefix, "prod")
			want(t, a.Bolt.Prefix, "prod")
		}},
		{"bolt url form", "bolt:///tmp/x.db", func(t *testing.T, a stores.Address) {
			want(t, a.BoltPath, "/tmp/x.db")
		}},
		{"bolt escaped prefix", "bolt:f.db?prefix=a%3Ab", func(t *testing.T, a stores.Address) {
			want(t, a.Prefix, "a:b")
		}},
		{"bolt mkdir", "bolt:./nodir/x.db?mkdir=true&prefix=p", func(t *testing.T, a stores.Address) {
			want(t, a.Bolt.MakeDirs, true)
			want(t, a.Prefix, "p")
		}},
		{"bolt no mkdir", "bolt:./nodir/x.db", func(t *testing.T, a stores.Address) {
			want(t, a.Bolt.MakeDirs, false)
		}},
		{"redis default", "redis://localhost:6379", func(t *testing.T, a stores.Address) {
			want(t, a.Backend, stores.Redis)
			want(t, a.Prefix, "launchdarkly")
			want(t, a.Redis.Addrs[0], "localhost:6379")
			want(t, a.Redis.Redis.DB, 0)
		}},
		{"redis db user password prefix", "redis://app:s3cret@10.1.2.3:6380/4?prefix=prod", func(t *testing.T, a stores.Address) {
			want(t, a.Redis.Addrs[0], "10.1.2.3:6380")
			want(t, a.Redis.Redis.DB, 4)
			want(t, a.Redis.Redis.Username, "app")
			want(t, a.Redis.Redis.Password, "s3cret")
			want(t, a.Prefix, "prod")
			want(t, a.String(), "redis://app:xxxxx@10.1.2.3:6380/4?prefix=prod")
		}},
		{"rediss", "rediss://:pw@cache.example.com:6380", func(t *testing.T, a stores.Address) {
			if a.Redis.Redis.TLSConfig == nil {
				t.Error("rediss: no TLS config")
			}
			want(t, a.Redis.Redis.Password, "pw")
		}},
		{"redis cluster", "redis+cluster://h1:7000?addr=h2:7001&addr=h3:7002&prefix={ld}", func(t *testing.T, a stores.Address) {
			want(t, a.Redis.Cluster, true)
			want(t, strings.Join(a.Redis.Addrs, ","), "h1:7000,h2:7001,h3:7002")
			want(t, a.Prefix, "{ld}")
		}},
		{"redis cluster unhashed allowed", "redis+cluster://h1:7000?allow_unhashed_cluster_prefix=true", func(t *testing.T, a stores.Address) {
			want(t, a.Prefix, "launchdarkly")
			want(t, a.Redis.AllowUnhashedClusterPrefix, true)
		}},
		{"redis sentinel", "redis+sentinel://s1:26379?master=mymaster&addr=s2:26379&sentinel_password=top", func(t *testing.T, a stores.Address) {
			want(t, a.Redis.MasterName, "mymaster")
			want(t, strings.Join(a.Redis.Addrs, ","), "s1:26379,s2:26379")
			want(t, a.Redis.Redis.SentinelPassword, "top")
			if strings.Contains(a.String(), "top") {
				t.Errorf("String() shows the sentinel password: %s", a)
			}
		}},
		{"dynamodb", "dynamodb://flags-table?endpoint=http://127.0.0.1:8000&region=eu-west-1&prefix=prod", func(t *testing.T, a stores.Address) {
			want(t, a.Backend, stores.DynamoDB)
			want(t, a.DynamoDB.Table, "flags-table")
			want(t, a.DynamoDB.Endpoint, "http://127.0.0.1:8000")
			want(t, a.DynamoDB.Region, "eu-west-1")
			want(t, a.Prefix, "prod")
		}},
		{"dynamodb no prefix", "dynamodb://flags", func(t *testing.T, a stores.Address) {
			want(t, a.Prefix, "")
		}},
		{"surrounding space", "  bolt:x.db\n", func(t *testing.T, a stores.Address) {
			want(t, a.BoltPath, "x.db")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := stores.Parse(tc.addr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.addr, err)
			}
			tc.check(t, a)
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		problem    string // a part of the message
		example    string
	}{
		{"empty", "", "empty", stores.ExampleBolt},
		{"bare path", "./flags.db", "no scheme", stores.ExampleBolt},
		{"bare file", "flags.db", "no scheme", stores.ExampleBolt},
		{"unknown scheme", "mongodb://x", `unknown scheme "mongodb"`, stores.ExampleBolt},
		{"bolt no path", "bolt:", "no file path", stores.ExampleBolt},
		{"bolt unknown param", "bolt:x.db?prefx=a", `unknown parameter "prefx"`, stores.ExampleBolt + "?prefix=prod"},
		{"bolt empty prefix", "bolt:x.db?prefix=", "empty prefix", stores.ExampleBolt + "?prefix=prod"},
		{"bolt dollar prefix", "bolt:x.db?prefix=$x", "begins with '$'", stores.ExampleBolt + "?prefix=prod"},
		{"bolt prefix twice", "bolt:x.db?prefix=a&prefix=b", "given 2 times", stores.ExampleBolt + "?prefix=prod"},
		{"bolt bad mkdir", "bolt:x.db?mkdir=yes", `mkdir="yes" is not true or false`, stores.ExampleBolt + "?mkdir=true"},
		{"redis no host", "redis://", "no host", stores.ExampleRedis},
		{"redis bad db", "redis://h:1/x", "invalid database number", stores.ExampleRedis},
		{"redis bad port", "redis://h:notaport", "", stores.ExampleRedis},
		{"redis unknown param", "redis://h?timeout=1s", "timeout", stores.ExampleRedis},
		{"redis opaque", "redis:localhost", "//host", stores.ExampleRedis},
		{"rediss no host", "rediss://", "no host", stores.ExampleRedisTLS},
		{"cluster without hash tag", "redis+cluster://h1:7000?addr=h2:7001", "{hash tag}", stores.ExampleRedisCluster},
		{"cluster with untagged prefix", "redis+cluster://h1:7000?prefix=prod", "?prefix={prod}", stores.ExampleRedisCluster},
		{"sentinel without master", "redis+sentinel://s1:26379", "master", stores.ExampleRedisSentinel},
		{"redis unknown mode", "redis+ring://h", "+ring", stores.ExampleRedis},
		{"dynamodb no table", "dynamodb://", "table name is missing", stores.ExampleDynamoDB},
		{"dynamodb short table", "dynamodb://ab", "3 to 255", stores.ExampleDynamoDB},
		{"dynamodb bad endpoint", "dynamodb://flags?endpoint=ftp://x", "http or https", stores.ExampleDynamoDB},
		{"dynamodb credentials", "dynamodb://key:secret@flags", "credentials", stores.ExampleDynamoDB},
		{"dynamodb unknown param", "dynamodb://flags?regin=x", `unknown parameter "regin"`, stores.ExampleDynamoDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stores.Parse(tc.addr)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.addr)
			}
			var ae *stores.AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *AddressError: %v", err, err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("message is not one line: %q", msg)
			}
			if !strings.Contains(msg, tc.problem) {
				t.Errorf("message %q does not say %q", msg, tc.problem)
			}
			if ae.Example != tc.example || !strings.Contains(msg, "example: "+tc.example) {
				t.Errorf("message %q: want example %q", msg, tc.example)
			}
			if _, err := stores.Parse(ae.Example); err != nil {
				t.Errorf("the example %q does not parse: %v", ae.Example, err)
			}
		})
	}
}

func TestErrorsHidePasswords(t *testing.T) {
	for _, addr := range []string{
		"redis://user:hunter2@h:1/x",
		"redis://:hunter2@h:notaport",
		"redis://user:hunter2@h:1?bogus=1",
		"rediss://user:hunter2@",
		"redis+sentinel://s:1?sentinel_password=hunter2",
		"dynamodb://user:hunter2@flags",
		"mongodb://user:hunter2@h",
	} {
		_, err := stores.Parse(addr)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", addr)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) error shows the password: %v", addr, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, out := range map[string]string{
		"redis://u:p@h:1/2?prefix=x":            "redis://u:xxxxx@h:1/2?prefix=x",
		"redis://:p@h":                          "redis://:xxxxx@h",
		"redis://u@h":                           "redis://u@h",
		"redis://h?sentinel_password=p&x=1":     "redis://h?sentinel_password=xxxxx&x=1",
		"bolt:/a@b/c.db":                        "bolt:/a@b/c.db",
		"redis://u:p@ss@h":                      "redis://u:xxxxx@h",
		"dynamodb://t?endpoint=http://h:1#frag": "dynamodb://t?endpoint=http://h:1#frag",
	} {
		if got := stores.Redact(in); got != out {
			t.Errorf("Redact(%q) = %q, want %q", in, got, out)
		}
	}
}

// FuzzParseAddress checks that Parse never panics, that its errors are one
// line that never repeat a password, and that a parsed address is
// consistent.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"bolt:./flags.db", "bolt:x?prefix=p", "redis://u:p@h:1/2?prefix=x", "rediss://h",
		"redis+cluster://h:1?addr=h2:2&prefix={x}", "redis+sentinel://h?master=m&addr=h2",
		"dynamodb://table?endpoint=http://127.0.0.1:8000&region=us-east-1&prefix=p",
		"", ":", "bolt:", "redis://%zz", "dynamodb://t?create=maybe", "redis://h?dial_timeout=-1s",
		"file:a.json,b.yaml?duplicates=first&settle=10ms", "file:,", "file:a?poll_only=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		a, err := stores.Parse(addr)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("multi-line error for %q: %q", addr, msg)
			}
			var ae *stores.AddressError
			if !errors.As(err, &ae) || ae.Example == "" {
				t.Fatalf("error without example for %q: %v", addr, err)
			}
			return
		}
		switch a.Backend {
		case stores.Bolt:
			if a.Bolt == nil || a.BoltPath == "" || a.Prefix == "" {
				t.Fatalf("bolt address %q parsed incompletely: %+v", addr, a)
			}
		case stores.Redis:
			if a.Redis == nil || a.Prefix == "" {
				t.Fatalf("redis address %q parsed incompletely: %+v", addr, a)
			}
			if a.Redis.Redis.Password != "" && len(a.Redis.Redis.Password) > 3 && strings.Contains(a.String(), "@") &&
				strings.Contains(a.String(), ":"+a.Redis.Redis.Password+"@") {
				t.Fatalf("String() of %q shows the password", addr)
			}
		case stores.DynamoDB:
			if a.DynamoDB == nil || a.DynamoDB.Table == "" {
				t.Fatalf("dynamodb address %q parsed incompletely: %+v", addr, a)
			}
		case stores.File:
			if a.File == nil || len(a.FilePaths) == 0 || slices.Contains(a.FilePaths, "") {
				t.Fatalf("file address %q parsed incompletely: %+v", addr, a)
			}
		default:
			t.Fatalf("address %q: unknown backend %q", addr, a.Backend)
		}
	})
}

func want[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}
