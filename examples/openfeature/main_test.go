package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRun runs the example and checks what it prints, so it never rots.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{
		"alice       new-checkout  true   1        TARGETING_MATCH  TARGET_MATCH",
		"bob         new-checkout  true   1        TARGETING_MATCH  RULE_MATCH",
		"carol@acme  page-size     50     1        TARGETING_MATCH  RULE_MATCH",
		"SPLIT",
		"PROVIDER_CONFIGURATION_CHANGED from daemonflag: [new-checkout]",
		"new-checkout for alice: false, reason DISABLED",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
