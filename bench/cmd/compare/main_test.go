package main

import (
	"strings"
	"testing"
)

// A case with a no-SDK control gets a column for it; a case without keeps
// the two-SDK table.
func TestControlColumn(t *testing.T) {
	out := []byte(`BenchmarkTail/goroutines=64/tight/ours-2   	1	 100 max-ns	 5.0 p50-ns	0 ns/op
BenchmarkTail/goroutines=64/tight/ld-2     	1	 200 max-ns	 6.0 p50-ns	0 ns/op
BenchmarkTail/goroutines=64/tight/control-2	1	 300 max-ns	 4.0 p50-ns	0 ns/op
BenchmarkStaleness/goroutines=4/ours-2     	1	 90 max-stale-ms	0 ns/op
BenchmarkStaleness/goroutines=4/ld-2       	1	 99 max-stale-ms	0 ns/op
`)
	table := formatTable(parse(out))
	for _, want := range []string{
		"| Case | Metric | daemonflag | LaunchDarkly | Ratio | No SDK (control) | |",
		"| goroutines=64/tight | max-ns | 100 ns | 200 ns | 0.50 | 300 ns |  |",
		"| goroutines=64/tight | p50-ns | 5 ns | 6 ns | 0.83 | 4 ns |  |",
		"| goroutines=4 | max-stale-ms | 90 | 99 | 0.91 |  |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Count(table, "No SDK") != 1 {
		t.Errorf("want the control column in the Tail table only:\n%s", table)
	}
}
