package evalctx_test

import (
	"fmt"

	"github.com/daemonflag/daemonflag/evalctx"
)

func ExampleNewBuilder() {
	c := evalctx.NewBuilder("org-42").
		Kind("organization").
		Name("Acme").
		SetString("plan", "enterprise").
		Private("plan").
		Build()
	if err := c.Err(); err != nil {
		fmt.Println("invalid context:", err)
		return
	}
	plan, _ := c.GetValueForRef(evalctx.NewRef("plan"))
	fmt.Println(c.FullyQualifiedKey(), plan.Str())

	bad := evalctx.NewBuilder("x").Kind("multi").Build()
	fmt.Println(bad.Err())
	// Output:
	// organization:org-42 enterprise
	// evalctx: invalid context kind "multi": it is reserved for multi-kind contexts
}

func ExampleNewMultiBuilder() {
	c := evalctx.NewMultiBuilder().
		Add(evalctx.New("user:1")).
		Add(evalctx.NewWithKind("device", "d-7")).
		Build()
	user, _ := c.IndividualContextByKind("user")
	fmt.Println(c.Kind(), c.IndividualContextCount(), user.Key())
	fmt.Println(c.FullyQualifiedKey())
	// Output:
	// multi 2 user:1
	// device:d-7:user:user%3A1
}

func ExampleParse() {
	current := []byte(`{"kind":"user","key":"u1","address":{"city":"Wellington"},"_meta":{"privateAttributes":["/address/city"]}}`)
	c, err := evalctx.Parse(current)
	if err != nil {
		fmt.Println(err)
		return
	}
	city, ok := c.GetValueForRef(evalctx.NewRef("/address/city"))
	fmt.Println(city.Str(), ok)

	old := []byte(`{"key":"u2","email":"ann@example.com","custom":{"groups":["beta"]}}`)
	c, _ = evalctx.Parse(old)
	out, _ := c.MarshalJSON()
	fmt.Println(string(out))

	_, err = evalctx.Parse([]byte(`{"kind":"user","key":42}`))
	fmt.Println(err)
	// Output:
	// Wellington true
	// {"kind":"user","key":"u2","email":"ann@example.com","groups":["beta"]}
	// evalctx: invalid context JSON: "key" must be a string, not number
}
