package evalctx

import (
	"errors"
	"strings"
	"testing"
)

func TestMultiBuilder(t *testing.T) {
	u, o, d := New("u"), NewWithKind("org", "o"), NewWithKind("device", "d")
	tests := []struct {
		name     string
		add      []Context
		wantErr  error  // nil: valid
		wantMsg  string // substring of the error
		wantKind Kind
		wantN    int
	}{
		{"none", nil, ErrNoContexts, "no individual contexts", MultiKind, 0},
		{"one collapses", []Context{o}, nil, "", "org", 1},
		{"two", []Context{u, o}, nil, "", MultiKind, 2},
		{"three", []Context{u, o, d}, nil, "", MultiKind, 3},
		{"duplicate kind", []Context{u, New("u2")}, ErrDuplicateKind, `"user"`, MultiKind, 0},
		{"triplicate reported once", []Context{u, New("u2"), New("u3"), o}, ErrDuplicateKind, `"user"`, MultiKind, 0},
		{"invalid member", []Context{u, NewWithKind("org", "")}, ErrEmptyKey, `kind "org"`, MultiKind, 0},
		{"invalid kind member", []Context{u, NewWithKind("bad kind", "x")}, ErrInvalidKind, "bad kind", MultiKind, 0},
		{"one invalid collapses", []Context{New("")}, ErrEmptyKey, "", "user", 0},
		{"zero member", []Context{u, {}}, ErrUninitialized, "", MultiKind, 0},
		{"nested multi flattens", []Context{NewMulti(u, o), d}, nil, "", MultiKind, 3},
		{"nested multi duplicates", []Context{NewMulti(u, o), New("x")}, ErrDuplicateKind, "", MultiKind, 0},
		{"multi of one multi", []Context{NewMulti(u, o)}, nil, "", MultiKind, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMultiBuilder()
			for _, c := range tt.add {
				m.Add(c)
			}
			c := m.Build()
			c2 := NewMulti(tt.add...)
			if !c.Equal(c2) {
				t.Error("NewMulti and MultiBuilder disagree")
			}
			if tt.wantErr != nil {
				if !errors.Is(c.Err(), tt.wantErr) {
					t.Fatalf("Err = %v, want %v", c.Err(), tt.wantErr)
				}
				if !strings.Contains(c.Err().Error(), tt.wantMsg) {
					t.Errorf("error %q should contain %q", c.Err(), tt.wantMsg)
				}
				if strings.Contains(tt.name, "triplicate") && strings.Count(c.Err().Error(), "more than one") != 1 {
					t.Errorf("duplicate reported more than once: %q", c.Err())
				}
				return
			}
			if c.Err() != nil {
				t.Fatal(c.Err())
			}
			if c.Kind() != tt.wantKind || c.IndividualContextCount() != tt.wantN {
				t.Errorf("kind %q count %d, want %q %d", c.Kind(), c.IndividualContextCount(), tt.wantKind, tt.wantN)
			}
			for i := 1; i < c.IndividualContextCount(); i++ {
				if c.IndividualContextByIndex(i-1).Kind() >= c.IndividualContextByIndex(i).Kind() {
					t.Error("kinds not sorted")
				}
			}
		})
	}
}

func TestMultiBuilderReuse(t *testing.T) {
	m := NewMultiBuilder().Add(NewWithKind("b", "1")).Add(NewWithKind("a", "2"))
	c1 := m.Build()
	m.Add(NewWithKind("c", "3"))
	c2 := m.Build()
	if c1.IndividualContextCount() != 2 || c2.IndividualContextCount() != 3 {
		t.Error("building again must not change an earlier context")
	}
	if c1.FullyQualifiedKey() != "a:2:b:1" || c2.FullyQualifiedKey() != "a:2:b:1:c:3" {
		t.Errorf("fq keys %q %q", c1.FullyQualifiedKey(), c2.FullyQualifiedKey())
	}
}
