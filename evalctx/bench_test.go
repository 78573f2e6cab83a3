package evalctx

import (
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

func benchContexts() (single, multi Context) {
	single = NewBuilder("user-key").
		Name("Ann").
		SetString("email", "ann@example.com").
		Set("address", jsonvalue.Object(map[string]jsonvalue.Value{
			"street": jsonvalue.Object(map[string]jsonvalue.Value{"line1": jsonvalue.String("1 Main St")}),
		})).
		Build()
	multi = NewMulti(single, NewWithKind("org", "org:key"), NewWithKind("device", "d1"))
	return single, multi
}

// TestLookupsDoNotAllocate backs the NoAlloc benchmarks with a plain test,
// so `go test` alone catches an allocation.
func TestLookupsDoNotAllocate(t *testing.T) {
	single, multi := benchContexts()
	refs := []Ref{NewRef("kind"), NewRef("key"), NewRef("name"), NewRef("anonymous"), NewRef("email"),
		NewRef("/address/street/line1"), NewRef("/address/zip"), NewRef("missing")}
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range refs {
			v, _ := single.GetValueForRef(r)
			sink += v.Len()
			v, _ = multi.GetValueForRef(r)
			sink += v.Len()
		}
		for _, k := range []Kind{"user", "org", "device", "missing", ""} {
			c, ok := multi.IndividualContextByKind(k)
			if ok {
				sink += len(c.Key()) + len(c.Kind()) + len(c.FullyQualifiedKey())
			}
			c, _ = single.IndividualContextByKind(k)
			sink += len(c.Key())
		}
		v, _ := single.GetValue("email")
		sink += len(v.Str()) + len(multi.FullyQualifiedKey())
	})
	if allocs != 0 {
		t.Errorf("lookups allocated %v times per run", allocs)
	}
	_ = sink
}

func BenchmarkGetValueForRefNoAlloc(b *testing.B) {
	single, _ := benchContexts()
	r := NewRef("email")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := single.GetValueForRef(r); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkGetValueForRefPathNoAlloc(b *testing.B) {
	single, _ := benchContexts()
	r := NewRef("/address/street/line1")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := single.GetValueForRef(r); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkGetValueForRefBuiltinNoAlloc(b *testing.B) {
	single, _ := benchContexts()
	r := NewRef("key")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := single.GetValueForRef(r); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkIndividualContextByKindNoAlloc(b *testing.B) {
	_, multi := benchContexts()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := multi.IndividualContextByKind("user"); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkFullyQualifiedKeyNoAlloc(b *testing.B) {
	_, multi := benchContexts()
	b.ReportAllocs()
	for b.Loop() {
		if multi.FullyQualifiedKey() == "" {
			b.Fatal("empty")
		}
	}
}

func BenchmarkKindNoAlloc(b *testing.B) {
	single, _ := benchContexts()
	b.ReportAllocs()
	for b.Loop() {
		if single.Kind() == "" {
			b.Fatal("empty")
		}
	}
}

func BenchmarkKeyNoAlloc(b *testing.B) {
	single, _ := benchContexts()
	b.ReportAllocs()
	for b.Loop() {
		if single.Key() == "" {
			b.Fatal("empty")
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewBuilder("user-key").Kind("org").Name("Ann").SetString("email", "a@b").Build()
	}
}

func BenchmarkParse(b *testing.B) {
	data := []byte(`{"kind":"multi","user":{"key":"u","name":"Ann","email":"a@b","tags":["x","y"]},"org":{"key":"o","_meta":{"privateAttributes":["email"]}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	_, multi := benchContexts()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := multi.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
