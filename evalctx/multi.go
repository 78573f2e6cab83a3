package evalctx

import (
	"fmt"
	"slices"
	"strings"
)

// MultiBuilder assembles a multi-kind Context from individual contexts.
// A zero MultiBuilder is ready to use; it is not safe for concurrent use.
type MultiBuilder struct {
	contexts []Context
}

// NewMultiBuilder returns an empty MultiBuilder.
func NewMultiBuilder() *MultiBuilder {
	return &MultiBuilder{}
}

// NewMulti builds a multi-kind context from contexts, as a MultiBuilder
// with each of them added would.
func NewMulti(contexts ...Context) Context {
	m := MultiBuilder{contexts: make([]Context, 0, len(contexts))}
	for _, c := range contexts {
		m.Add(c)
	}
	return m.Build()
}

// Add adds an individual context. Adding a multi-kind context adds each of
// its individual contexts.
func (m *MultiBuilder) Add(c Context) *MultiBuilder {
	if m == nil {
		return m
	}
	if c.Multiple() {
		m.contexts = append(m.contexts, c.d.multi...)
	} else {
		m.contexts = append(m.contexts, c)
	}
	return m
}

// Build returns the context: a multi-kind context holding the added
// contexts sorted by kind, or, when exactly one was added, that context
// itself. No contexts, an invalid context, or two contexts of one kind give
// a Context whose Err says what is wrong.
func (m *MultiBuilder) Build() Context {
	if m == nil || len(m.contexts) == 0 {
		return invalid(MultiKind, ErrNoContexts)
	}
	if len(m.contexts) == 1 {
		return m.contexts[0]
	}
	cs := slices.Clone(m.contexts)
	slices.SortStableFunc(cs, func(a, b Context) int { return strings.Compare(string(a.Kind()), string(b.Kind())) })
	var errs []error
	for i, c := range cs {
		if c.Err() != nil {
			errs = append(errs, fmt.Errorf("context of kind %q: %w", c.Kind(), c.Err()))
		}
		// Sorted, so equal kinds are neighbours; report each duplicated kind once.
		if i > 0 && cs[i-1].Kind() == c.Kind() && (i < 2 || cs[i-2].Kind() != c.Kind()) {
			errs = append(errs, fmt.Errorf("%w %q", ErrDuplicateKind, c.Kind()))
		}
	}
	if len(errs) != 0 {
		return invalid(MultiKind, &multiError{errs: errs})
	}
	var sb strings.Builder
	for i, c := range cs {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(string(c.d.kind))
		sb.WriteByte(':')
		sb.WriteString(escapeKey(c.d.key))
	}
	kinds := make([]Kind, len(cs))
	for i, c := range cs {
		kinds[i] = c.d.kind
	}
	return Context{d: &contextData{kind: MultiKind, fqKey: sb.String(), multi: cs, multiKinds: kinds}}
}
