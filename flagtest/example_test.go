package flagtest_test

import (
	"fmt"
	"log"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/flagtest"
	"github.com/daemonflag/daemonflag/model"
)

// newClient is what a test gets from td.Client(t); examples have no t.
func newClient(td *flagtest.TestData) *client.Client {
	c, err := client.New(td.ClientConfig())
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func Example() {
	td := flagtest.New()
	if err := td.Update(td.Flag("new-checkout").VariationForAll(true)); err != nil {
		log.Fatal(err)
	}
	c := newClient(td)
	defer c.Close()

	on, _ := c.BoolVariation("new-checkout", evalctx.New("user-1"), false)
	fmt.Println("new checkout:", on)

	// Change it: the next evaluation sees the change.
	td.Update(td.Flag("new-checkout").VariationForAll(false))
	on, _ = c.BoolVariation("new-checkout", evalctx.New("user-1"), false)
	fmt.Println("new checkout:", on)
	// Output:
	// new checkout: true
	// new checkout: false
}

func ExampleFlagBuilder_Rule() {
	td := flagtest.New()
	td.Update(td.Flag("plan-limits").
		Variations(10, 100, 1000).
		Fallthrough(10).
		Target("org", 1000, "big-customer").
		Rule(flagtest.Match("email", model.OpEndsWith, "@example.com"),
			flagtest.NotMatch("country", model.OpIn, "aq")).Then(100))
	c := newClient(td)
	defer c.Close()

	// A negated clause still needs the attribute: without a country, ann
	// would not match.
	staff := evalctx.NewBuilder("ann").SetString("email", "ann@example.com").SetString("country", "fr").Build()
	org := evalctx.NewWithKind("org", "big-customer")
	for _, ec := range []evalctx.Context{evalctx.New("bob"), staff, org} {
		limit, d, _ := c.IntVariationDetail("plan-limits", ec, 0)
		fmt.Println(ec.Key(), limit, d.Reason.Kind)
	}
	// Output:
	// bob 10 FALLTHROUGH
	// ann 100 RULE_MATCH
	// big-customer 1000 TARGET_MATCH
}

func ExampleFlagBuilder_FallthroughRollout() {
	td := flagtest.New()
	td.Update(td.Flag("new-search").Salt("search").FallthroughRollout(flagtest.Split(true, 25, false, 75)))
	c := newClient(td)
	defer c.Close()

	count := 0
	for i := range 1000 {
		if on, _ := c.BoolVariation("new-search", evalctx.New(fmt.Sprint("user-", i)), false); on {
			count++
		}
	}
	fmt.Println("about a quarter:", count > 200 && count < 300)
	// Output:
	// about a quarter: true
}

func ExampleFlagBuilder_Prerequisite() {
	td := flagtest.New()
	td.Update(td.Flag("payments-v2").VariationForAll(false))
	td.Update(td.Flag("refunds-v2").Prerequisite("payments-v2", true))
	c := newClient(td)
	defer c.Close()

	_, d, _ := c.BoolVariationDetail("refunds-v2", evalctx.New("user-1"), false)
	fmt.Println(d.Reason.Kind, d.Reason.PrerequisiteKey)
	// Output:
	// PREREQUISITE_FAILED payments-v2
}

func ExampleSegmentBuilder_Unbounded() {
	td := flagtest.New()
	td.UpdateSegment(td.Segment("beta-testers").Unbounded("user").BigIncluded("user-1"))
	td.Update(td.Flag("beta").Fallthrough(false).Rule(flagtest.InSegment("beta-testers")).Then(true))
	c := newClient(td)
	defer c.Close()

	for _, key := range []string{"user-1", "user-2"} {
		on, d, _ := c.BoolVariationDetail("beta", evalctx.New(key), false)
		fmt.Println(key, on, d.Reason.BigSegmentsStatus)
	}
	// Output:
	// user-1 true HEALTHY
	// user-2 false HEALTHY
}

func ExampleTestData_UpdateFlagJSON() {
	td := flagtest.New()
	err := td.UpdateFlagJSON([]byte(`{
		"key": "banner", "on": true, "variations": ["Welcome", "Hello, beta tester"],
		"fallthrough": {"variation": 0},
		"rules": [{"id": "beta", "variation": 1, "clauses": [{"attribute": "beta", "op": "in", "values": [true]}]}]
	}`))
	if err != nil {
		log.Fatal(err)
	}
	c := newClient(td)
	defer c.Close()

	tester := evalctx.NewBuilder("user-1").SetBool("beta", true).Build()
	banner, _ := c.StringVariation("banner", tester, "")
	fmt.Println(banner)
	// Output:
	// Hello, beta tester
}
