package store

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// referenceParseVersion is the obvious implementation with encoding/json,
// used to check the scanner. Member names match exactly, as in
// LaunchDarkly's decoders (encoding/json's struct decoding would also
// accept "Version").
func referenceParseVersion(data []byte) (int, bool, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return 0, false, errors.New("not an object")
	}
	var version *json.Number
	var deleted *bool
	if raw, ok := members["version"]; ok {
		if len(raw) > 0 && raw[0] == '"' {
			return 0, false, errors.New("version is a string") // json.Number would take "3"
		}
		if err := json.Unmarshal(raw, &version); err != nil {
			return 0, false, err
		}
	}
	if raw, ok := members["deleted"]; ok {
		if err := json.Unmarshal(raw, &deleted); err != nil {
			return 0, false, err
		}
	}
	v := 0
	if version != nil {
		n, err := strconv.Atoi(version.String())
		if err != nil {
			return 0, false, err
		}
		v = n
	}
	return v, deleted != nil && *deleted, nil
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		version int
		deleted bool
		wantErr bool
	}{
		{"flag", `{"key":"f","version":12,"on":true,"variations":[true,false]}`, 12, false, false},
		{"tombstone", `{"key":"f","version":3,"deleted":true}`, 3, true, false},
		{"deleted false", `{"deleted":false,"version":1}`, 1, false, false},
		{"deleted null", `{"deleted":null,"version":1}`, 1, false, false},
		{"no version", `{"key":"f"}`, 0, false, false},
		{"version null", `{"version":null}`, 0, false, false},
		{"negative", `{"version":-4}`, -4, false, false},
		{"nested version ignored", `{"rules":[{"version":99,"deleted":true}],"version":2}`, 2, false, false},
		{"nested object", `{"a":{"version":5,"b":[1,2,{"c":"d"}]},"version":6}`, 6, false, false},
		{"escaped name", `{"vers\u0069on":7}`, 7, false, false},
		{"names match exactly", `{"Version":7,"DELETED":true}`, 0, false, false},
		{"escapes in strings", `{"k":"a\"b\\c\u00e9","version":8}`, 8, false, false},
		{"duplicate last wins", `{"version":1,"version":2}`, 2, false, false},
		{"whitespace", " \n{ \"version\" : 9 , \"deleted\" : true }\t", 9, true, false},
		{"empty object", `{}`, 0, false, false},
		{"fraction", `{"version":1.5}`, 0, false, true},
		{"whole fraction", `{"version":3.0}`, 0, false, true},
		{"exponent", `{"version":1e2}`, 0, false, true},
		{"string version", `{"version":"3"}`, 0, false, true},
		{"bool version", `{"version":true}`, 0, false, true},
		{"huge version", `{"version":99999999999999999999999}`, 0, false, true},
		{"string deleted", `{"deleted":"yes"}`, 0, false, true},
		{"array", `[1,2]`, 0, false, true},
		{"null", `null`, 0, false, true},
		{"empty", ``, 0, false, true},
		{"truncated", `{"version":3`, 0, false, true},
		{"trailing garbage", `{"version":3} x`, 0, false, true},
		{"trailing comma", `{"version":3,}`, 0, false, true},
		{"bad nested", `{"a":[1,,2],"version":3}`, 0, false, true},
		{"bad escape", `{"a":"\x","version":3}`, 0, false, true},
		{"control char", "{\"a\":\"\x01\"}", 0, false, true},
		{"leading zero", `{"version":01}`, 0, false, true},
		{"bad literal", `{"deleted":tru}`, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, del, err := ParseVersion([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedItem) {
					t.Fatalf("ParseVersion(%q) error = %v, want ErrMalformedItem", tt.in, err)
				}
				return
			}
			if err != nil || v != tt.version || del != tt.deleted {
				t.Fatalf("ParseVersion(%q) = %d, %v, %v; want %d, %v, nil", tt.in, v, del, err, tt.version, tt.deleted)
			}
		})
	}
}

func TestParseVersionDeepNesting(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	if _, _, err := ParseVersion([]byte(deep)); !errors.Is(err, ErrMalformedItem) {
		t.Fatalf("deeply nested input: error = %v, want ErrMalformedItem", err)
	}
}

func TestParseVersionDoesNotAllocate(t *testing.T) {
	data := []byte(`{"key":"flag","version":42,"on":true,"rules":[{"clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}]}],"deleted":false}`)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := ParseVersion(data); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseVersion allocates %v times per call, want 0", allocs)
	}
}

func TestTombstone(t *testing.T) {
	it := Tombstone(`a"b`, 7)
	if !it.Deleted || it.Version != 7 {
		t.Fatalf("Tombstone = %+v", it)
	}
	v, del, err := ParseVersion(it.Data)
	if err != nil || v != 7 || !del {
		t.Fatalf("ParseVersion(tombstone) = %d, %v, %v", v, del, err)
	}
	var decoded struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(it.Data, &decoded); err != nil || decoded.Key != `a"b` {
		t.Fatalf("tombstone JSON %s: key %q, err %v", it.Data, decoded.Key, err)
	}
}

func TestItemFromJSON(t *testing.T) {
	it, err := ItemFromJSON([]byte(`{"key":"s","version":4,"deleted":true}`))
	if err != nil || it.Version != 4 || !it.Deleted {
		t.Fatalf("ItemFromJSON = %+v, %v", it, err)
	}
	if _, err := ItemFromJSON([]byte(`{`)); !errors.Is(err, ErrMalformedItem) {
		t.Fatalf("ItemFromJSON of bad JSON: error = %v", err)
	}
}

// FuzzParseVersion checks the scanner against encoding/json: both accept the
// same objects and agree on version and deleted.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{
		`{"key":"f","version":12}`, `{"version":3,"deleted":true}`, `{"a":[{"b":null}],"version":-1}`,
		`{"version":1.5}`, `[]`, `{"deleted":"x"}`, `{"v\u0065rsion":2}`, `{"version":1,"version":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, del, err := ParseVersion(data)
		rv, rdel, rerr := referenceParseVersion(data)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("ParseVersion(%q) error = %v; encoding/json error = %v", data, err, rerr)
		}
		if err == nil && (v != rv || del != rdel) {
			t.Fatalf("ParseVersion(%q) = %d, %v; encoding/json = %d, %v", data, v, del, rv, rdel)
		}
	})
}

func BenchmarkParseVersion(b *testing.B) {
	data := []byte(`{"key":"flag-key-123","version":42,"on":true,"prerequisites":[],"salt":"abc","targets":[{"values":["a","b","c"],"variation":0}],"rules":[{"id":"r1","clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"],"negate":false}],"variation":1,"trackEvents":false}],"fallthrough":{"variation":0},"offVariation":1,"variations":[true,false],"clientSide":false,"trackEvents":false,"deleted":false}`)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := ParseVersion(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := referenceParseVersion(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
