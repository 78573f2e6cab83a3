package model

import (
	"math"

	"github.com/daemonflag/daemonflag/internal/jsontok"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// decoder reads one flag or segment document with the module's tokenizer
// (internal/jsontok), which keeps the path to the current property for
// errors. Strings without escapes are substrings of one copy of the
// document, so decoding allocates little. Errors are sticky: after the first
// one every read returns a zero value and loops end.
type decoder struct {
	sc   jsontok.Scanner
	data []byte // the document, for findKey
	kind string // "flag" or "segment", for errors
}

type (
	objIter = jsontok.ObjIter
	arrIter = jsontok.ArrIter
)

func newDecoder(data []byte, kind string) *decoder {
	d := &decoder{data: data, kind: kind}
	d.sc.Reset(string(data))
	return d
}

func (d *decoder) failed() bool                     { return d.sc.Failed() }
func (d *decoder) enter(name string)                { d.sc.Enter(name) }
func (d *decoder) enterIndex(i int)                 { d.sc.EnterIndex(i) }
func (d *decoder) leave()                           { d.sc.Leave() }
func (d *decoder) fail(problem string)              { d.sc.Fail(problem) }
func (d *decoder) next() byte                       { return d.sc.Next() }
func (d *decoder) expected(what string)             { d.sc.Expected(what) }
func (d *decoder) null() bool                       { return d.sc.Null() }
func (d *decoder) end()                             { d.sc.End() }
func (d *decoder) object(it *objIter) bool          { return d.sc.Object(it) }
func (d *decoder) field(it *objIter) (string, bool) { return d.sc.Field(it) }
func (d *decoder) array(it *arrIter) bool           { return d.sc.Array(it) }
func (d *decoder) elem(it *arrIter) bool            { return d.sc.Elem(it) }
func (d *decoder) str() string                      { return d.sc.Str() }
func (d *decoder) rawString() string                { return d.sc.RawString() }
func (d *decoder) boolean() bool                    { return d.sc.Bool() }
func (d *decoder) number() float64                  { return d.sc.Number() }
func (d *decoder) skip() string                     { return d.sc.Skip() }

// value reads any JSON value, nested ones in the same pass.
func (d *decoder) value() jsonvalue.Value { return jsonvalue.Read(&d.sc) }

// integer reads a whole number that fits in an int64; null reads as 0.
func (d *decoder) integer() int {
	if d.null() || d.failed() {
		return 0
	}
	start := d.sc.Pos()
	f := d.number()
	if d.failed() {
		return 0
	}
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		text := d.sc.Text(start, d.sc.Pos())
		d.sc.SetPos(start)
		d.fail("expected a whole number, got " + jsontok.Clip(text))
		return 0
	}
	return int(f)
}

// optInt reads an optional whole number; null reads as nil.
func (d *decoder) optInt() *int {
	if d.null() || d.failed() {
		return nil
	}
	n := d.integer()
	if d.failed() {
		return nil
	}
	return &n
}

// strList reads an array of strings; null reads as nil.
func (d *decoder) strList() []string {
	if d.null() || d.failed() {
		return nil
	}
	var it arrIter
	if !d.array(&it) {
		return nil
	}
	out := []string{}
	for d.elem(&it) {
		if d.next() != '"' {
			d.enterIndex(it.I)
			d.expected("a string")
			d.leave()
			return nil
		}
		out = append(out, d.rawString())
	}
	return out
}

// valueList reads an array of arbitrary values; null reads as nil.
func (d *decoder) valueList() []jsonvalue.Value {
	if d.null() || d.failed() {
		return nil
	}
	var it arrIter
	if !d.array(&it) {
		return nil
	}
	out := []jsonvalue.Value{}
	for d.elem(&it) {
		d.enterIndex(it.I)
		out = append(out, d.value())
		d.leave()
	}
	return out
}

// rawField is a property this package does not know, kept verbatim.
type rawField struct {
	name string
	raw  string // the value's JSON text
}

// keep stores the current property's value as an unknown field.
func (d *decoder) keep(extra *[]rawField, name string) {
	raw := d.skip()
	if d.failed() {
		return
	}
	for i := range *extra {
		if (*extra)[i].name == name {
			(*extra)[i].raw = raw // the last duplicate wins, as for known fields
			return
		}
	}
	*extra = append(*extra, rawField{name: name, raw: raw})
}
