package dynamodb

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ParseURL parses a store address of the form
//
//	dynamodb://TABLE[?endpoint=URL][&region=REGION][&prefix=PREFIX][&create=BOOL][&notify_interval=DURATION]
//
// into Options, for command lines and configuration files. TABLE is the
// table name (3 to 255 of the characters a-z A-Z 0-9 _ . -). endpoint is an
// http or https URL for a local server such as dynalite or DynamoDB Local;
// region, prefix, create and notify_interval set [Options.Region],
// [Options.Prefix], [Options.CreateTable] and [Options.NotifyInterval]. Query values are URL-escaped as usual (a prefix
// "a:b" may be written as is or as "a%3Ab"). Credentials never appear in the
// address: they come from the AWS default configuration chain (local servers
// accept any, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local).
// Unknown or repeated parameters are errors, so that a misspelt one is not
// ignored.
func ParseURL(s string) (*Options, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: invalid store URL: %w", err)
	}
	if u.Scheme != "dynamodb" {
		return nil, fmt.Errorf("dynamodb: store URL %q: scheme must be dynamodb", s)
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("dynamodb: store URL %q: want dynamodb://TABLE", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("dynamodb: store URL %q: credentials do not belong in the URL; use the AWS configuration (environment, profile or role)", redact(u))
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("dynamodb: store URL %q: unexpected path %q after the table name", s, u.Path)
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return nil, fmt.Errorf("dynamodb: store URL %q: unexpected fragment", s)
	}
	opts := &Options{Table: u.Host}
	if err := validTableName(opts.Table); err != nil {
		return nil, fmt.Errorf("dynamodb: store URL %q: %w", s, err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: store URL %q: invalid query: %w", s, err)
	}
	for name, vals := range q {
		if len(vals) != 1 {
			return nil, fmt.Errorf("dynamodb: store URL %q: parameter %q given %d times", s, name, len(vals))
		}
		v := vals[0]
		switch name {
		case "endpoint":
			if err := validEndpoint(v); err != nil {
				return nil, fmt.Errorf("dynamodb: store URL %q: %w", s, err)
			}
			opts.Endpoint = v
		case "region":
			if err := validRegion(v); err != nil {
				return nil, fmt.Errorf("dynamodb: store URL %q: %w", s, err)
			}
			opts.Region = v
		case "prefix":
			opts.Prefix = v
		case "notify_interval":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("dynamodb: store URL %q: notify_interval=%q is not a positive duration such as 500ms", s, v)
			}
			opts.NotifyInterval = d
		case "create":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("dynamodb: store URL %q: create=%q is not a boolean", s, v)
			}
			opts.CreateTable = b
		default:
			return nil, fmt.Errorf("dynamodb: store URL %q: unknown parameter %q (known: endpoint, region, prefix, create, notify_interval)", s, name)
		}
	}
	return opts, nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

func validTableName(name string) error {
	if name == "" {
		return fmt.Errorf("table name is missing (want dynamodb://TABLE)")
	}
	if len(name) < 3 || len(name) > 255 {
		return fmt.Errorf("table name %q must be 3 to 255 characters long", name)
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return fmt.Errorf("table name %q may only hold a-z A-Z 0-9 _ - .", name)
		}
	}
	return nil
}

func validEndpoint(e string) error {
	eu, err := url.Parse(e)
	if err != nil {
		return fmt.Errorf("endpoint %q: %w", e, err)
	}
	if eu.Scheme != "http" && eu.Scheme != "https" {
		return fmt.Errorf("endpoint %q: scheme must be http or https", e)
	}
	if eu.Host == "" {
		return fmt.Errorf("endpoint %q has no host", e)
	}
	if eu.User != nil {
		return fmt.Errorf("endpoint must not hold credentials")
	}
	return nil
}

func validRegion(r string) error {
	if r == "" {
		return fmt.Errorf("region is empty")
	}
	if strings.Trim(r, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return fmt.Errorf("region %q may only hold a-z 0-9 -", r)
	}
	return nil
}
