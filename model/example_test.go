package model_test

import (
	"fmt"

	"github.com/daemonflag/daemonflag/model"
)

func ExampleDecodeFlag() {
	f, err := model.DecodeFlag([]byte(`{"key":"new-checkout","version":3,"on":true,
		"variations":[false,true],"offVariation":0,"fallthrough":{"variation":0},
		"rules":[{"id":"beta","variation":1,"clauses":[
			{"contextKind":"user","attribute":"/plan/tier","op":"in","values":["beta"]}]}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	c := f.Rules[0].Clauses[0]
	fmt.Println(f.Key, f.Version, c.Op, c.Attribute.Depth(), c.Attribute.Component(1))

	_, err = model.DecodeFlag([]byte(`{"key":"broken","rules":[{"clauses":[{"op":true}]}]}`))
	fmt.Println(err)
	// Output:
	// new-checkout 3 in 2 tier
	// model: flag "broken": rules[0].clauses[0].op: expected a string, got boolean (at byte 43)
}

func ExampleParseSemVer() {
	a, _ := model.ParseSemVer("2.1")
	b, _ := model.ParseSemVer("2.1.0-rc.1+build.7")
	fmt.Println(a, b, a.Compare(b))
	_, ok := model.ParseSemVer("v2.1.0")
	fmt.Println(ok)
	// Output:
	// {2 1 0 } {2 1 0 rc.1} 1
	// false
}
