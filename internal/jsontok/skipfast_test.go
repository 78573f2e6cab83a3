package jsontok

import "testing"

// skipSlow is Skip without its fast path.
func skipSlow(s string) (text string, sc Scanner) {
	sc.Reset(s)
	text = sc.skipGeneral(0)
	return text, sc
}

func TestSkipFastAgreesWithGeneralPath(t *testing.T) {
	for _, doc := range []string{
		`{"key":"f","version":3,"on":true,"variations":[false,true],"rules":[{"id":"r","clauses":[{"op":"in","values":["a\u00e9\n",1.5e-3,-0,null]}]}],"x":{}}`,
		`[]`, `{}`, ` [ 1 , [ ] , { } , "" ] `, `"\ud83d\ude00"`, `"\ud800"`, `-12.5E+7`, `0`, `true`, `false`, `null`,
		// Invalid or outside the fast path: the general path decides.
		`[1,]`, `{"a" 1}`, `{"a":1,}`, `01`, `1.`, `1e`, `-`, `"abc`, "\"a\x01\"", `"\x"`, `"\u12g4"`, `tru`, `nul`, `[1 2]`,
		`{"a":1]`, `[1}`, "\"caf\xc3\xa9\"", "\"\xff\"", `{1:2}`, `[`, `{`, `{"a":`, `{"a"`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	} {
		var sc Scanner
		sc.Reset(doc)
		got := sc.Skip()
		gotProblem, gotOff, gotFailed := sc.Err()
		want, slow := skipSlow(doc)
		wantProblem, wantOff, wantFailed := slow.Err()
		if got != want || gotFailed != wantFailed || gotProblem != wantProblem || gotOff != wantOff || sc.Pos() != slow.Pos() {
			t.Errorf("Skip(%q) = %q, failed %v %q at %d, pos %d; the general path: %q, failed %v %q at %d, pos %d",
				doc, got, gotFailed, gotProblem, gotOff, sc.Pos(), want, wantFailed, wantProblem, wantOff, slow.Pos())
		}
		if end, _, ok := skipFast(doc, skipSpace(doc, 0)); ok && (wantFailed || doc[:end] != doc[:slow.Pos()]) {
			t.Errorf("skipFast accepts %q up to %d, the general path: failed %v, end %d", doc, end, wantFailed, slow.Pos())
		}
	}
}

// FuzzSkipFast checks that the fast path of Skip accepts only what the
// general path accepts, ending at the same offset.
func FuzzSkipFast(f *testing.F) {
	for _, s := range []string{`null`, ` true `, `-0.5e+2`, `"a\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"`,
		`[1,[2,{}]]`, `{"a":{"b":[null,false]}}`, "\"\xff\"", `[1,]`, `{"a" 1}`, `01`, `"\ud800"`, `1e400`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		start := skipSpace(doc, 0)
		end, _, ok := skipFast(doc, start)
		if !ok {
			return
		}
		_, slow := skipSlow(doc)
		if _, _, failed := slow.Err(); failed || slow.Pos() != end {
			t.Fatalf("skipFast accepts %q up to %d; the general path: %v, end %d", doc, end, failed, slow.Pos())
		}
	})
}
