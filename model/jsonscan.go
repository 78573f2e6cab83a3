package model

import (
	"math"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/daemonflag/daemonflag/internal/jsontok"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// decoder reads one flag or segment document with the module's tokenizer
// (internal/jsontok), which keeps the path to the current property for
// errors. It scans the caller's bytes in place, without a copy of the
// document: every string the decoded item keeps is one of the schema's
// well-known words (see common), or copied out: most (keys, ids, salt,
// kinds, target values, the top-level strings of variations and clause
// values) are read as views of the document, recorded, and copied together
// into one allocation by ownStrings once the document decoded without
// error; the rest (references, unknown properties, nested values) on their
// own (jsontok's Own). So an item holds only the text it uses, and never
// memory of the caller's buffer. Errors are sticky: after the first one every read returns a zero
// value and loops end.
type decoder struct {
	sc   jsontok.Scanner
	data []byte // the document, for findKey
	kind string // "flag" or "segment", for errors
	// Scratch lists reused by strList and valueList (which never nest), so
	// that a list is allocated once, at its final length.
	strs []string
	vals []jsonvalue.Value
	// Strings of the item that are still views of the document, by
	// address, for ownStrings; cleared by release.
	pending []*string
	// Lists of strings read by strList whose elements are views of the
	// document, for ownStrings (one entry per list, not per string).
	lists [][]string
	// Lists of values (variations, clause values) whose top-level strings
	// are views of the document, for ownStrings.
	valueLists [][]jsonvalue.Value
	// ownBytes is the length of the views recorded in pending, lists and
	// valueLists: at least what ownStrings copies (more when a repeated
	// property replaced a recorded string).
	ownBytes int
}

type (
	objIter = jsontok.ObjIter
	arrIter = jsontok.ArrIter
)

// decoders recycles decoders (and their scratch lists) between documents.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

func newDecoder(data []byte, kind string) *decoder {
	d := decoders.Get().(*decoder)
	d.data, d.kind = data, kind
	// A view of data, not a copy: see the type's comment.
	d.sc.Reset(unsafe.String(unsafe.SliceData(data), len(data)))
	return d
}

// release returns d to the pool, keeping nothing of its document.
func (d *decoder) release() {
	d.sc.Reset("")
	d.data = nil
	clear(d.strs[:cap(d.strs)])
	clear(d.vals[:cap(d.vals)])
	clear(d.pending) // entries past the length were cleared before
	d.pending = d.pending[:0]
	d.ownBytes = 0
	clear(d.lists)
	d.lists = d.lists[:0]
	clear(d.valueLists)
	d.valueLists = d.valueLists[:0]
	if cap(d.valueLists) > maxScratch {
		d.valueLists = nil
	}
	if cap(d.lists) > maxScratch {
		d.lists = nil
	}
	if cap(d.pending) > maxScratch {
		d.pending = nil
	}
	if cap(d.strs) > maxScratch {
		d.strs = nil
	}
	if cap(d.vals) > maxScratch {
		d.vals = nil
	}
	decoders.Put(d)
}

// maxScratch bounds the scratch lists a pooled decoder keeps.
const maxScratch = 1024

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
func (d *decoder) rawString() string                { return d.sc.Own(d.sc.RawString()) }
func (d *decoder) boolean() bool                    { return d.sc.Bool() }
func (d *decoder) number() float64                  { return d.sc.Number() }
func (d *decoder) skip() string                     { return d.sc.Own(d.sc.Skip()) }

// str reads a string (null reads as ""), as the item's own copy.
func (d *decoder) str() string { return d.sc.Own(d.sc.Str()) }

// strAt reads a string (null reads as "") into *p as a view of the
// document, recorded for ownStrings: *p must stay at its address until the
// item is decoded (a field of an item or of a list allocated at its final
// length).
func (d *decoder) strAt(p *string) {
	*p = d.sc.Str()
	d.later(p)
}

// wordAt reads a string as word does into *p, a view of the document
// recorded as strAt does unless it is a well-known word.
func (d *decoder) wordAt(p *string) {
	s := d.sc.Str()
	if w, ok := common(s); ok {
		*p = w
		return
	}
	*p = s
	d.later(p)
}

// later records *p for ownStrings when it is a view of the document.
func (d *decoder) later(p *string) {
	if d.inDocument(*p) {
		d.pending = append(d.pending, p)
		d.ownBytes += len(*p)
	}
}

// moved updates the strings recorded since pending[mark] that lie in the
// size bytes at from, an element moved to to.
func (d *decoder) moved(mark int, from, to unsafe.Pointer, size uintptr) {
	for i, p := range d.pending[mark:] {
		if off := uintptr(unsafe.Pointer(p)) - uintptr(from); off < size {
			d.pending[mark+i] = (*string)(unsafe.Add(to, off))
		}
	}
}

// ownStrings copies every string recorded by strAt, wordAt and strList
// into one allocation of their total length, so that a decoded item keeps
// no memory of the caller's buffer and pays one allocation (and no size
// class rounding per string) for all its keys, ids, salt and target values.
// Called once, after a document decoded without error.
func (d *decoder) ownStrings() {
	if d.ownBytes == 0 {
		return
	}
	// Only what is still a view of the document is copied: a property
	// repeated in the document leaves a string recorded twice, or replaced
	// by one that is not a view, copied once or not at all.
	buf := make([]byte, d.ownBytes)
	off := 0
	for _, p := range d.pending {
		if d.inDocument(*p) {
			*p, off = ownInto(buf, off, *p)
		}
	}
	for _, list := range d.lists {
		for i := range list {
			if d.inDocument(list[i]) {
				list[i], off = ownInto(buf, off, list[i])
			}
		}
	}
	for _, list := range d.valueLists {
		for i := range list {
			if s := list[i].Str(); list[i].IsString() && d.inDocument(s) {
				s, off = ownInto(buf, off, s)
				list[i] = jsonvalue.String(s)
			}
		}
	}
}

// ownInto copies s into buf at off and returns the copy and the offset
// after it; s is non-empty. Should buf be short (it cannot: ownBytes
// counts every recorded view), s gets a copy of its own.
func ownInto(buf []byte, off int, s string) (string, int) {
	if len(s) > len(buf)-off {
		return strings.Clone(s), off
	}
	n := copy(buf[off:], s)
	return unsafe.String(&buf[off], n), off + n
}

// inDocument reports whether s is a non-empty view of the document.
func (d *decoder) inDocument(s string) bool {
	if len(s) == 0 || len(d.data) == 0 {
		return false
	}
	at := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(d.data)))
	return at >= lo && at < lo+uintptr(len(d.data))
}

// word reads a string that is often one of the schema's well-known words
// (an operator, a context kind, a built-in attribute): those are shared,
// the rest copied as str does.
func (d *decoder) word() string {
	s := d.sc.Str()
	if w, ok := common(s); ok {
		return w
	}
	return d.sc.Own(s)
}

// value reads any JSON value, nested ones in the same pass.
func (d *decoder) value() jsonvalue.Value { return jsonvalue.ReadOwned(&d.sc) }

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

// optInt reads an optional whole number; null reads as nil. Small numbers
// (variation indexes, mostly) point into smallInts, shared by every item.
func (d *decoder) optInt() *int {
	if d.null() || d.failed() {
		return nil
	}
	n := d.integer()
	if d.failed() {
		return nil
	}
	if n >= 0 && n < len(smallInts) {
		return &smallInts[n]
	}
	p := new(int) // not &n, which would move n to the heap on every call
	*p = n
	return p
}

// smallInts holds 0..255 for optInt; nobody may write through the
// pointers the decoders return (decoded items are read-only).
var smallInts = func() (a [256]int) {
	for i := range a {
		a[i] = i
	}
	return a
}()

// strList reads an array of strings; null reads as nil.
func (d *decoder) strList() []string {
	if d.null() || d.failed() {
		return nil
	}
	var it arrIter
	if !d.array(&it) {
		return nil
	}
	d.strs = d.strs[:0]
	for d.elem(&it) {
		if d.next() != '"' {
			d.enterIndex(it.I)
			d.expected("a string")
			d.leave()
			return nil
		}
		s := d.sc.RawString()
		if d.inDocument(s) {
			d.ownBytes += len(s)
		}
		d.strs = append(d.strs, s)
	}
	list := exact(d.strs)
	if len(list) > 0 {
		d.lists = append(d.lists, list)
	}
	return list
}

// boolVariations are the variations of most flags, [false, true] and
// [true, false], shared by every flag that has them.
var boolVariations = [2][]jsonvalue.Value{
	{jsonvalue.Bool(false), jsonvalue.Bool(true)},
	{jsonvalue.Bool(true), jsonvalue.Bool(false)},
}

// variations reads a flag's variations as valueList does, sharing
// boolVariations when the list is one of them.
func (d *decoder) variations() []jsonvalue.Value {
	if !d.readValues() {
		return nil
	}
	if vs := d.vals; len(vs) == 2 && vs[0].IsBool() && vs[1].IsBool() && vs[0].Bool() != vs[1].Bool() {
		if vs[0].Bool() {
			return boolVariations[1]
		}
		return boolVariations[0]
	}
	return d.laterValues(exact(d.vals))
}

// valueList reads an array of arbitrary values; null reads as nil.
func (d *decoder) valueList() []jsonvalue.Value {
	if !d.readValues() {
		return nil
	}
	return d.laterValues(exact(d.vals))
}

// laterValues records list for ownStrings and returns it.
func (d *decoder) laterValues(list []jsonvalue.Value) []jsonvalue.Value {
	if len(list) > 0 {
		d.valueLists = append(d.valueLists, list)
	}
	return list
}

// readValues reads an array of arbitrary values into d.vals; false for
// null or an error.
func (d *decoder) readValues() bool {
	if d.null() || d.failed() {
		return false
	}
	var it arrIter
	if !d.array(&it) {
		return false
	}
	d.vals = d.vals[:0]
	for d.elem(&it) {
		d.enterIndex(it.I)
		var v jsonvalue.Value
		if d.next() == '"' {
			// A view of the document, copied by ownStrings.
			s := d.sc.RawString()
			if d.inDocument(s) {
				d.ownBytes += len(s)
			}
			v = jsonvalue.String(s)
		} else {
			v = d.value()
		}
		d.vals = append(d.vals, v)
		d.leave()
	}
	return true
}

// exact returns a copy of list with no spare capacity (an empty list reads
// as an empty, non-nil one), so a decoded item keeps no slack of the
// appends that built it.
func exact[T any](list []T) []T {
	if len(list) == 0 {
		return []T{}
	}
	return slices.Clone(list)
}

// rawField is a property this package does not know, kept verbatim.
type rawField struct {
	name string
	raw  string // the value's JSON text
}

// rawFields holds an object's properties this package does not know, in
// order: nil (the usual case) when there are none. One pointer, so that the
// many objects with none pay 8 bytes for it, not a slice's 24.
type rawFields struct{ p *[]rawField }

// list returns the properties (nil when there are none).
func (r rawFields) list() []rawField {
	if r.p == nil {
		return nil
	}
	return *r.p
}

// keep stores the current property's value as an unknown field.
func (d *decoder) keep(extra *rawFields, name string) {
	raw := d.skip()
	if d.failed() {
		return
	}
	if extra.p == nil {
		extra.p = new([]rawField)
	}
	list := extra.p
	for i := range *list {
		if (*list)[i].name == name {
			(*list)[i].raw = raw // the last duplicate wins, as for known fields
			return
		}
	}
	*list = append(*list, rawField{name: d.sc.Own(name), raw: raw})
}
