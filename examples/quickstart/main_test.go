package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRun runs the quickstart's logic and checks what it prints, so the
// README's first command never rots.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{
		"The writer stored 4 flags and 1 segment",
		`alice  new-checkout    true     {"kind":"TARGET_MATCH"}`,
		`bob    new-checkout    true     {"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"staff"}`,
		`carol  beta-banner     true     {"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"betas"}`,
		`dave   max-cart-items  50       {"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"pro"}`,
		`button-color    "blue"`, `button-color    "green"`, // the rollout serves both
		"Listener: new-checkout for bob changed from true to false",
		`BoolVariation(new-checkout, bob) = false, reason {"kind":"OFF"}, error <nil>`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestGoRun runs the command exactly as the README says.
func TestGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "run", "./examples/quickstart")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/quickstart: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Listener: new-checkout for bob changed from true to false") {
		t.Errorf("unexpected output:\n%s", out)
	}
}
