package openfeature

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// Attribute names the context mapping gives a meaning to. Every other
// attribute becomes a custom attribute of the context.
const (
	attrKind      = "kind"
	attrKey       = "key"
	attrName      = "name"
	attrAnonymous = "anonymous"
	attrPrivate   = "privateAttributes"
	kindMulti     = "multi"
)

// contextError is a context that cannot be mapped: it becomes a resolution
// error with its code (TARGETING_KEY_MISSING or INVALID_CONTEXT) and a
// message naming the attribute.
type contextError struct {
	code of.ErrorCode
	msg  string
}

func (e *contextError) Error() string { return e.msg }

func (e *contextError) resolution() of.ResolutionError {
	if e.code == of.TargetingKeyMissingCode {
		return of.NewTargetingKeyMissingResolutionError(e.msg)
	}
	return of.NewInvalidContextResolutionError(e.msg)
}

func invalidContext(format string, args ...any) *contextError {
	return &contextError{code: of.InvalidContextCode, msg: fmt.Sprintf(format, args...)}
}

// ToContext maps an OpenFeature evaluation context, as the SDK flattens it,
// to a LaunchDarkly-model context, the way LaunchDarkly's OpenFeature
// providers do:
//
//   - the key is "targetingKey", else "key"; neither (or an empty string)
//     is TARGETING_KEY_MISSING;
//   - "kind" names the kind (default "user");
//   - "kind": "multi" makes every other top-level attribute whose value is
//     an object (map[string]any) a context of the kind named by the
//     attribute, mapped by the same rules (its kind is the attribute name;
//     a nested "kind" is ignored; its key is its "targetingKey", else
//     "key"); other top-level attributes of a
//     multi-kind context, "targetingKey" included, are ignored, because the
//     SDK merges API-, client- and invocation-level attributes into one map;
//   - "anonymous" (a bool), "name" (a string) and "privateAttributes" (a
//     []string or []any of strings, each an attribute reference such as
//     "email" or "/address/street") are the context's built-in properties;
//   - every other attribute is a custom attribute: strings, bools, numbers,
//     time.Time (as an RFC 3339 string, which LaunchDarkly's before/after
//     operators read), and nested objects and lists as JSON values.
//
// A value of the wrong type for a built-in property, an invalid kind, or a
// value that cannot be expressed as JSON (a channel, NaN) is
// INVALID_CONTEXT. The error's message names the attribute. The mapping
// allocates only what the context itself holds.
func ToContext(flat of.FlattenedContext) (evalctx.Context, error) {
	c, cerr := toContext(flat)
	if cerr != nil {
		return evalctx.Context{}, cerr
	}
	return c, nil
}

func toContext(flat of.FlattenedContext) (evalctx.Context, *contextError) {
	kind, err := kindOf(flat, "")
	if err != nil {
		return evalctx.Context{}, err
	}
	if kind == kindMulti {
		return multiContext(flat)
	}
	return singleContext(flat, evalctx.Kind(kind), "", true)
}

// kindOf returns the "kind" attribute, or "" when there is none.
func kindOf(flat of.FlattenedContext, path string) (string, *contextError) {
	v, ok := flat[attrKind]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalidContext("attribute %q must be a string naming the context kind, not %T", path+attrKind, v)
	}
	return s, nil
}

func multiContext(flat of.FlattenedContext) (evalctx.Context, *contextError) {
	var mb evalctx.MultiBuilder
	n := 0
	for name, v := range flat {
		if name == attrKind {
			continue
		}
		nested, ok := v.(map[string]any)
		if !ok {
			continue // see ToContext: merged top-level attributes do not belong to any kind
		}
		c, err := singleContext(nested, evalctx.Kind(name), name+".", false)
		if err != nil {
			return evalctx.Context{}, err
		}
		mb.Add(c)
		n++
	}
	if n == 0 {
		return evalctx.Context{}, invalidContext("attribute %q is %q but no attribute holds an object describing a context", attrKind, kindMulti)
	}
	c := mb.Build()
	if err := c.Err(); err != nil {
		return evalctx.Context{}, invalidContext("multi-kind context: %v", err)
	}
	return c, nil
}

// singleContext maps one context. path prefixes attribute names in messages
// ("organization." for a nested context); top is false for a nested
// context, whose kind is the name of the attribute that holds it.
func singleContext(flat map[string]any, kind evalctx.Kind, path string, top bool) (evalctx.Context, *contextError) {
	var b evalctx.Builder
	b.Kind(kind)
	key, keyAttr := "", ""
	if v, ok := flat[of.TargetingKey]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return evalctx.Context{}, invalidContext("attribute %q must be a string, not %T", path+of.TargetingKey, v)
		}
		key, keyAttr = s, of.TargetingKey
	}
	for name, v := range flat {
		switch name {
		case of.TargetingKey, attrKind:
			continue
		case attrKey:
			if v == nil {
				continue
			}
			s, ok := v.(string)
			if !ok {
				return evalctx.Context{}, invalidContext("attribute %q must be a string, not %T", path+attrKey, v)
			}
			if keyAttr == "" {
				key, keyAttr = s, attrKey
			}
			continue
		case attrName:
			if v == nil {
				continue
			}
			s, ok := v.(string)
			if !ok {
				return evalctx.Context{}, invalidContext("attribute %q must be a string, not %T", path+attrName, v)
			}
			b.Name(s)
			continue
		case attrAnonymous:
			if v == nil {
				continue
			}
			a, ok := v.(bool)
			if !ok {
				return evalctx.Context{}, invalidContext("attribute %q must be a bool, not %T", path+attrAnonymous, v)
			}
			b.Anonymous(a)
			continue
		case attrPrivate:
			if err := setPrivate(&b, v, path); err != nil {
				return evalctx.Context{}, err
			}
			continue
		}
		jv, err := toValue(v)
		if err != nil {
			return evalctx.Context{}, invalidContext("attribute %q: %v", path+name, err)
		}
		b.Set(name, jv)
	}
	if key == "" {
		where := of.TargetingKey + `" or "` + attrKey
		if !top {
			where = path + of.TargetingKey + `" or "` + path + attrKey
		}
		return evalctx.Context{}, &contextError{code: of.TargetingKeyMissingCode,
			msg: fmt.Sprintf("the evaluation context has no key: set %q to a non-empty string", where)}
	}
	b.Key(key)
	c := b.Build()
	if err := c.Err(); err != nil {
		attr := path + keyAttr
		if errors.Is(err, evalctx.ErrInvalidKind) {
			attr = path + attrKind
			if !top {
				attr = strings.TrimSuffix(path, ".")
			}
		}
		return evalctx.Context{}, invalidContext("attribute %q: %v", attr, err)
	}
	return c, nil
}

func setPrivate(b *evalctx.Builder, v any, path string) *contextError {
	switch t := v.(type) {
	case nil:
	case []string:
		b.Private(t...)
	case []any:
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return invalidContext("attribute %q[%d] must be a string (an attribute reference), not %T", path+attrPrivate, i, e)
			}
			b.Private(s)
		}
	default:
		return invalidContext("attribute %q must be a list of strings, not %T", path+attrPrivate, v)
	}
	return nil
}

// toValue converts an attribute value. The common scalar types are handled
// here without the reflection FromAny may need.
func toValue(v any) (jsonvalue.Value, error) {
	switch t := v.(type) {
	case string:
		return jsonvalue.String(t), nil
	case bool:
		return jsonvalue.Bool(t), nil
	case int:
		return jsonvalue.Int(t), nil
	case int64:
		return jsonvalue.Float(float64(t)), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return jsonvalue.Value{}, fmt.Errorf("%v is not a JSON number", t)
		}
		return jsonvalue.Float(t), nil
	case time.Time:
		return jsonvalue.String(t.Format(time.RFC3339Nano)), nil
	}
	return jsonvalue.FromAny(v)
}
