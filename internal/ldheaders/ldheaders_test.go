package ldheaders

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

func TestTags(t *testing.T) {
	long := strings.Repeat("a", MaxTagValueLength)
	for _, tc := range []struct {
		name, id, version, want string
		warnings                int
	}{
		{"none", "", "", "", 0},
		{"id only", "my-app", "", "application-id/my-app", 0},
		{"version only", "", "1.2.3", "application-version/1.2.3", 0},
		{"both, id first", "svc_A.b-c", "1.0", "application-id/svc_A.b-c application-version/1.0", 0},
		{"64 characters is fine", long, "", "application-id/" + long, 0},
		{"65 characters is dropped", long + "a", "ok", "application-version/ok", 1},
		{"space is dropped", "my app", "ok", "application-version/ok", 1},
		{"slash is dropped", "ok", "1/2", "application-id/ok", 1},
		{"non-ASCII is dropped", "appé", "", "", 1},
		{"both bad", "a b", "c d", "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			got := Tags(tc.id, tc.version, slog.New(slog.NewTextHandler(&logs, nil)))
			if got != tc.want {
				t.Errorf("Tags(%q, %q) = %q, want %q", tc.id, tc.version, got, tc.want)
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != tc.warnings {
				t.Errorf("%d warnings, want %d:\n%s", n, tc.warnings, logs.String())
			}
		})
	}
	// Every character LaunchDarkly allows is accepted.
	all := "._-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := 0; i < len(all); i += MaxTagValueLength {
		v := all[i:min(i+MaxTagValueLength, len(all))]
		if err := ValidateTagValue(v); err != nil {
			t.Errorf("ValidateTagValue(%q) = %v", v, err)
		}
	}
	for c := 0; c < 256; c++ {
		if strings.IndexByte(all, byte(c)) >= 0 {
			continue
		}
		if ValidateTagValue("bad-"+string(rune(c))) == nil && c < 128 {
			t.Errorf("character %q accepted", rune(c))
		}
	}
}

func TestWrapperAndHeaders(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"", "", ""}, {"TestName", "", "TestName"}, {"TestName", "1.0.0", "TestName/1.0.0"}, {"", "1.0.0", ""},
	} {
		if got := Wrapper(tc.name, tc.version); got != tc.want {
			t.Errorf("Wrapper(%q, %q) = %q, want %q", tc.name, tc.version, got, tc.want)
		}
	}
	h := Metadata{ApplicationID: "app", WrapperName: "w", WrapperVersion: "2", InstanceID: "id-1"}.Headers(slog.New(slog.DiscardHandler))
	if h.Get(HeaderTags) != "application-id/app" || h.Get(HeaderWrapper) != "w/2" || h.Get(HeaderInstanceID) != "id-1" {
		t.Errorf("headers %v", h)
	}
	if h := (Metadata{}).Headers(nil); len(h) != 0 {
		t.Errorf("zero Metadata sends %v", h)
	}
	if h := (Metadata{WrapperName: "a\r\nX-Evil: 1", InstanceID: "x\n"}).Headers(slog.New(slog.DiscardHandler)); len(h) != 0 {
		t.Errorf("control characters were sent: %v", h)
	}
}

func TestNewInstanceID(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewInstanceID()
		if !uuid4.MatchString(id) {
			t.Fatalf("%q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("%q repeated", id)
		}
		seen[id] = true
	}
}
