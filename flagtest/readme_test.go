package flagtest_test

import (
	"testing"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/flagtest"
	"github.com/daemonflag/daemonflag/model"
)

// This file is the README's "Testing code behind a flag" example, kept
// compiling and passing here.

// checkoutPage is the code under test: it reads two flags.
func checkoutPage(c *client.Client, user evalctx.Context) string {
	if on, _ := c.BoolVariation("new-checkout", user, false); !on {
		return "classic"
	}
	theme, _ := c.StringVariation("checkout-theme", user, "light")
	return "new/" + theme
}

func TestCheckoutPage(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	td.Update(td.Flag("checkout-theme").Variations("light", "dark").Fallthrough("light").
		Rule(flagtest.Match("email", model.OpEndsWith, "@example.com")).Then("dark"))

	staff := evalctx.NewBuilder("ann").SetString("email", "ann@example.com").Build()
	tests := []struct {
		name string
		flag *flagtest.FlagBuilder
		user evalctx.Context
		want string
	}{
		{"off", td.Flag("new-checkout").VariationForAll(false), evalctx.New("bob"), "classic"},
		{"on", td.Flag("new-checkout").VariationForAll(true), evalctx.New("bob"), "new/light"},
		{"staff", td.Flag("new-checkout").VariationForAll(true), staff, "new/dark"},
		{"beta only", td.Flag("new-checkout").VariationForAll(false).Target("user", true, "bob"), evalctx.New("bob"), "new/light"},
		{"half", td.Flag("new-checkout").FallthroughRollout(flagtest.Split(true, 50, false, 50)), evalctx.New("user-2"), "new/light"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := td.Update(tt.flag); err != nil {
				t.Fatal(err)
			}
			if got := checkoutPage(c, tt.user); got != tt.want {
				t.Errorf("checkoutPage = %q, want %q", got, tt.want)
			}
		})
	}
}
