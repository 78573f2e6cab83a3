// Command compare runs the side-by-side benchmarks of daemonflag and
// LaunchDarkly's Go SDK and prints the comparison table.
//
// Run it from the bench directory:
//
//	go run ./cmd/compare                        # every benchmark, table on stdout
//	go run ./cmd/compare -count 3 -out RESULTS.md   # medians of 3 runs, and the Markdown report
//	go run ./cmd/compare -bench 'Eval' -benchtime 200ms
//
// It runs `go test -run '^$' -bench ... -benchmem` in the bench module,
// reads the benchmark lines, pairs each benchmark whose name has a path
// element "ours" with the one that has "ld" in its place, and prints, per
// case and metric, our number, LaunchDarkly's and the ratio (ours divided by
// LaunchDarkly's; below 1 is better for us, since every metric is a cost).
// A third benchmark with "control" in that place (the same work without
// any SDK, as BenchmarkTail's) is shown in a column of its own.
// Nothing is hard-coded: every number comes from the run.
//
// Backends: when DAEMONFLAG_REDIS_URL is not set, it uses the servers that
// ../scripts/redis.sh reports live, or starts them and stops them at the end.
// The outage benchmark starts its own redis-server.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	benchRe := flag.String("bench", ".", "benchmarks to run (go test -bench)")
	benchtime := flag.String("benchtime", "1s", "go test -benchtime")
	count := flag.Int("count", 1, "rounds (each a go test -count 1 run of both sides); with more than one the median is shown")
	out := flag.String("out", "", "also write the Markdown report (machine, date, table) to this file")
	input := flag.String("input", "", "format the benchmark output in this file instead of running the benchmarks")
	flag.Parse()
	if err := run(*benchRe, *benchtime, *count, *out, *input); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(benchRe, benchtime string, count int, out, input string) error {
	dir, err := benchDir()
	if err != nil {
		return err
	}
	m := describeMachine()
	var output []byte
	if input != "" {
		if output, err = os.ReadFile(input); err != nil {
			return err
		}
	} else {
		stop, err := ensureRedis(dir)
		if err != nil {
			return err
		}
		defer stop()
		m.loadBefore = loadAverage()
		// Rounds, not go test -count: -count repeats each sub-benchmark
		// back to back (ours, ours, ours, then ld, ...), so a change of the
		// machine's load would fall on one side. Each round is one process
		// that runs, per benchmark function, our side and then
		// LaunchDarkly's; the rounds repeat that.
		args := []string{"test", "-run", "^$", "-bench", benchRe, "-benchmem", "-benchtime", benchtime,
			"-count", "1", "-timeout", "60m", "."}
		m.command = "go " + strings.Join(args, " ")
		m.rounds = count
		var buf bytes.Buffer
		for round := 1; round <= count && err == nil; round++ {
			fmt.Fprintf(os.Stderr, "compare: round %d of %d: running %s in %s\n", round, count, m.command, dir)
			cmd := exec.Command("go", args...)
			cmd.Dir = dir
			cmd.Stdout = io.MultiWriter(&buf, os.Stderr)
			cmd.Stderr = os.Stderr
			err = cmd.Run()
		}
		output = buf.Bytes()
		m.loadAfter = loadAverage()
		if err != nil {
			return fmt.Errorf("go test failed: %w", err)
		}
	}
	results := parse(output)
	if len(results) == 0 {
		return errors.New("no benchmark results in the output")
	}
	table := formatTable(results)
	fmt.Print(table)
	if out != "" {
		report := m.markdown() + "\n" + table + "\n" + legend
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "compare: wrote %s\n", out)
	}
	return nil
}

// benchDir finds the bench module's directory: the working directory or one
// of its parents, or its "bench" child.
func benchDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	candidates := []string{filepath.Join(wd, "bench")}
	for d := wd; ; d = filepath.Dir(d) {
		candidates = append(candidates, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, d := range candidates {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/daemonflag/daemonflag/bench\n")) {
			return d, nil
		}
	}
	return "", errors.New("run this from the bench module (the directory with bench/go.mod) or the repository root")
}

// ensureRedis makes sure DAEMONFLAG_REDIS_URL is set, from live servers of
// ../scripts/redis.sh or by starting them; the returned function stops what
// was started here.
func ensureRedis(dir string) (stop func(), err error) {
	stop = func() {}
	if os.Getenv("DAEMONFLAG_REDIS_URL") != "" {
		return stop, nil
	}
	script := filepath.Join(dir, "..", "scripts", "redis.sh")
	if _, err := os.Stat(script); err != nil {
		fmt.Fprintln(os.Stderr, "compare: DAEMONFLAG_REDIS_URL is not set and scripts/redis.sh is missing: Redis benchmarks will be skipped")
		return stop, nil
	}
	envOut, _ := exec.Command(script, "env").Output()
	if !applyExports(envOut) {
		cmd := exec.Command(script, "start")
		cmd.Stderr = os.Stderr
		startOut, err := cmd.Output()
		if err != nil {
			return stop, fmt.Errorf("%s start: %w", script, err)
		}
		if !applyExports(startOut) {
			return stop, fmt.Errorf("%s start printed no DAEMONFLAG_REDIS_URL", script)
		}
		stop = func() {
			c := exec.Command(script, "stop")
			c.Stderr = os.Stderr
			_ = c.Run()
		}
	}
	fmt.Fprintf(os.Stderr, "compare: Redis at %s\n", os.Getenv("DAEMONFLAG_REDIS_URL"))
	return stop, nil
}

var exportLine = regexp.MustCompile(`^export ([A-Z_]+)=['"]?([^'"]*)['"]?$`)

// applyExports sets the variables of `export NAME=value` lines and reports
// whether DAEMONFLAG_REDIS_URL was among them.
func applyExports(out []byte) bool {
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if m := exportLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			os.Setenv(m[1], m[2])
			found = found || m[1] == "DAEMONFLAG_REDIS_URL"
		}
	}
	return found
}

type machine struct {
	date, cpu, goVersion, command string
	cores                         int
	rounds                        int // how many times command ran
	loadBefore, loadAfter         string
}

func describeMachine() *machine {
	m := &machine{date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), cores: runtime.NumCPU(), cpu: "unknown CPU"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := exec.Command("go", "version").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(b))
	}
	return m
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (m *machine) markdown() string {
	var b strings.Builder
	b.WriteString("# daemonflag vs LaunchDarkly's Go SDK\n\n")
	b.WriteString("Generated by `go run ./cmd/compare` (see the command line below) in `bench/`; do not edit by hand.\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", m.date)
	fmt.Fprintf(&b, "- Machine: %s, %d cores (shared with other work; load average before %s, after %s)\n", m.cpu, m.cores, m.loadBefore, m.loadAfter)
	fmt.Fprintf(&b, "- %s; LaunchDarkly go-server-sdk v7.14.6, go-server-sdk-evaluation v3.0.1, go-server-sdk-redis-redigo v3.0.0\n", m.goVersion)
	if m.command != "" {
		fmt.Fprintf(&b, "- Command: `%s` (in `bench/`), %d rounds\n", m.command, m.rounds)
	}
	b.WriteString("- Each cell: the median over the runs and, in parentheses, the lowest and highest run. The two " +
		"SDKs' runs alternate: each round is one `go test -count 1` process that runs, per benchmark function, our side and then LaunchDarkly's, and the rounds repeat that.\n")
	b.WriteString("- Ratio: ours ÷ LaunchDarkly's (every metric is a cost: below 1 is better for daemonflag); " +
		"\"slower\"/\"more\" marks where we are behind.\n")
	return b.String()
}

// result is one benchmark's metrics (the median over -count runs).
type result struct {
	name    string
	metrics map[string][]float64
}

var (
	benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+\s+.*)$`)
	// A benchmark's name is printed before it runs and its numbers after;
	// a log line in between leaves the numbers on a line of their own.
	benchName   = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s`)
	benchNumber = regexp.MustCompile(`^\s*(\d+\s+[0-9.]+ \S+.*)$`)
)

func parse(out []byte) map[string]*result {
	results := map[string]*result{}
	add := func(name, fields string) {
		r := results[name]
		if r == nil {
			r = &result{name: name, metrics: map[string][]float64{}}
			results[name] = r
		}
		f := strings.Fields(fields)[1:] // after the iteration count
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			r.metrics[f[i+1]] = append(r.metrics[f[i+1]], v)
		}
	}
	pending := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := benchLine.FindStringSubmatch(line); m != nil {
			add(m[1], m[2])
			pending = ""
			continue
		}
		if m := benchName.FindStringSubmatch(line); m != nil {
			pending = m[1]
			continue
		}
		if m := benchNumber.FindStringSubmatch(line); m != nil && pending != "" {
			add(pending, m[1])
			pending = ""
		}
	}
	return results
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// pair is one case: our result and LaunchDarkly's, and the no-SDK control's
// when the case has one.
type pair struct {
	group, name       string
	ours, ld, control *result
}

// groupOrder is the order of the items; descriptions say what each
// group measures.
var groupOrder = []struct{ name, title string }{
	{"Eval", "1. Warm evaluation, evaluator vs evaluator (in memory)"},
	{"ClientEval", "1. Warm evaluation, client BoolVariation (daemon mode on Redis, cache warm)"},
	{"ClientEvalParallel", "2. Parallel warm evaluation (RunParallel), GOMAXPROCS 1 and 2"},
	{"RandomMix", "2. Warm evaluation of 1,000 random flags x 1,000 random contexts (Redis, caches warm)"},
	{"TTLExpiry", "3. TTL expiry under load (Redis, 100 ms TTL, 64 goroutines)"},
	{"Staleness", "3. Staleness under CPU saturation (Redis, 100 ms TTL, 4 and 64 never-blocking goroutines)"},
	{"Tail", "3. Tail latency under CPU saturation with a no-SDK control (Redis, 100 ms TTL, 64 never-blocking goroutines)"},
	{"FirstEvaluation", "4. Cache miss: first evaluation of a flag (Redis, 10,000 flags)"},
	{"AllFlagsState", "4. AllFlagsState over 1,000 flags, cold and warm"},
	{"Startup", "4. Client start-up to ready (Redis, 10,000 flags)"},
	{"StartupFirstEvaluation", "4. Client start-up to the first good evaluation (Redis, 10,000 flags)"},
	{"StoreGet", "4. One raw store read of a flag (no cache): go-redis (ours) vs redigo (LaunchDarkly)"},
	{"Outage", "5. Redis stopped for 3 s under load (1 s TTL)"},
	{"BigSegments", "6. Big segments (Redis, membership cache of 1,000 keys)"},
	{"Decode", "7. Decoding flag and segment JSON"},
	{"Memory", "8. Memory: heap per cached flag after loading 10,000 flags"},
}

func pairs(results map[string]*result) []pair {
	byKey := map[string]*pair{}
	for name, r := range results {
		parts := strings.Split(name, "/")
		side := -1
		for i, p := range parts {
			if p == "ours" || p == "ld" || p == "control" {
				side = i
			}
		}
		if side < 0 {
			continue
		}
		rest := slices.Concat(parts[1:side], parts[side+1:])
		key := parts[0] + "/" + strings.Join(rest, "/")
		p := byKey[key]
		if p == nil {
			p = &pair{group: parts[0], name: strings.Join(rest, "/")}
			byKey[key] = p
		}
		switch parts[side] {
		case "ours":
			p.ours = r
		case "ld":
			p.ld = r
		default:
			p.control = r
		}
	}
	var out []pair
	for _, p := range byKey {
		if p.name == "" {
			p.name = p.group // a group with a single case
		}
		out = append(out, *p)
	}
	rank := func(g string) int {
		for i, o := range groupOrder {
			if o.name == g {
				return i
			}
		}
		return len(groupOrder)
	}
	order := map[string]int{}
	for name := range results {
		order[name] = len(order)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := rank(out[i].group), rank(out[j].group); a != b {
			return a < b
		}
		if out[i].group != out[j].group {
			return out[i].group < out[j].group
		}
		return out[i].name < out[j].name
	})
	return out
}

// metricOrder lists metrics in display order; others follow alphabetically.
var metricOrder = []string{"ns/op", "B/op", "allocs/op", "p50-ns", "p99-ns", "p99.9-ns", "max-ns", "store-reads/s",
	"evals", "defaults", "defaults-%", "heap-B/flag"}

func metricsOf(p pair) []string {
	seen := map[string]bool{}
	for _, r := range []*result{p.ours, p.ld, p.control} {
		if r == nil {
			continue
		}
		for m := range r.metrics {
			seen[m] = true
		}
	}
	// A benchmark that suppressed ns/op (a timed scenario) reports only its
	// own metrics: its B/op and allocs/op are those of the whole scenario.
	scenario := false
	for _, r := range []*result{p.ours, p.ld, p.control} {
		if r != nil && (r.metrics["ns/op"] == nil || median(r.metrics["ns/op"]) == 0) {
			scenario = true
		}
	}
	if scenario {
		delete(seen, "ns/op")
		delete(seen, "B/op")
		delete(seen, "allocs/op")
	}
	delete(seen, "MB/s")
	var out []string
	for _, m := range metricOrder {
		if seen[m] {
			out = append(out, m)
			delete(seen, m)
		}
	}
	rest := make([]string, 0, len(seen))
	for m := range seen {
		rest = append(rest, m)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func formatTable(results map[string]*result) string {
	var b strings.Builder
	all := pairs(results)
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].group == all[i].group {
			j++
		}
		group := all[i:j]
		i = j
		title := group[0].group
		for _, o := range groupOrder {
			if o.name == title {
				title = o.title
			}
		}
		fmt.Fprintf(&b, "\n### %s\n\n", title)
		// The usual metrics, one row per case.
		var other []pair
		wroteHeader := false
		for _, p := range group {
			ms := metricsOf(p)
			if slices.Contains(ms, "ns/op") {
				if !wroteHeader {
					b.WriteString("| Case | daemonflag | LaunchDarkly | Ratio | B/op ours | B/op LD | allocs/op ours | allocs/op LD | |\n")
					b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
					wroteHeader = true
				}
				ratio, note := compareValues(p, "ns/op")
				ob, _ := value(p.ours, "B/op")
				lb, _ := value(p.ld, "B/op")
				oa, oaOK := value(p.ours, "allocs/op")
				la, laOK := value(p.ld, "allocs/op")
				if oaOK && laOK && oa > la && note == "" {
					note = "more allocs"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p.name,
					cell(p.ours, "ns/op"), cell(p.ld, "ns/op"), ratio,
					show(ob, p.ours != nil, "B/op"), show(lb, p.ld != nil, "B/op"),
					show(oa, oaOK, "allocs/op"), show(la, laOK, "allocs/op"), note)
			}
			if slices.ContainsFunc(ms, func(m string) bool { return m != "ns/op" && m != "B/op" && m != "allocs/op" }) {
				other = append(other, p)
			}
		}
		// Other metrics (latency quantiles, counts, memory), one row per
		// case and metric.
		if len(other) > 0 {
			if wroteHeader {
				b.WriteString("\n")
			}
			control := slices.ContainsFunc(other, func(p pair) bool { return p.control != nil })
			if control {
				b.WriteString("| Case | Metric | daemonflag | LaunchDarkly | Ratio | No SDK (control) | |\n|---|---|---:|---:|---:|---:|---|\n")
			} else {
				b.WriteString("| Case | Metric | daemonflag | LaunchDarkly | Ratio | |\n|---|---|---:|---:|---:|---|\n")
			}
			for _, p := range other {
				for _, m := range metricsOf(p) {
					if m == "ns/op" || m == "B/op" || m == "allocs/op" {
						continue
					}
					ratio, note := compareValues(p, m)
					if control {
						fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", p.name, m, cell(p.ours, m), cell(p.ld, m), ratio, cell(p.control, m), note)
					} else {
						fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", p.name, m, cell(p.ours, m), cell(p.ld, m), ratio, note)
					}
				}
			}
		}
	}
	return b.String()
}

// compareValues returns the ratio ours/LaunchDarkly's of a metric, and
// "slower" or "more" when ours is more than 5% higher.
func compareValues(p pair, m string) (ratio, note string) {
	ov, oOK := value(p.ours, m)
	lv, lOK := value(p.ld, m)
	switch {
	case !oOK || !lOK:
		return "n/a", ""
	case lv == 0 && ov == 0:
		return "=", ""
	case lv == 0:
		return "∞", "more"
	}
	r := ov / lv
	ratio = fmt.Sprintf("%.2f", r)
	if r < 0.01 {
		ratio = fmt.Sprintf("%.4f", r)
	}
	if r > 1.05 && m != "evals" && m != "evals/s" { // evaluations made are no cost
		note = "more"
		if m == "ns/op" || strings.HasSuffix(m, "-ns") {
			note = "slower"
		}
	}
	return ratio, note
}

// cell shows a metric's median and, with several runs, their spread:
// "median (min–max)".
func cell(r *result, m string) string {
	v, ok := value(r, m)
	out := show(v, ok, m)
	if ok && len(r.metrics[m]) > 1 {
		lo, hi := slices.Min(r.metrics[m]), slices.Max(r.metrics[m])
		if lo != hi {
			out += " (" + show(lo, true, m) + "–" + show(hi, true, m) + ")"
		}
	}
	return out
}

func value(r *result, metric string) (float64, bool) {
	if r == nil || r.metrics[metric] == nil {
		return 0, false
	}
	return median(r.metrics[metric]), true
}

func show(v float64, ok bool, metric string) string {
	if !ok {
		return "–"
	}
	switch {
	case metric == "ns/op" || strings.HasSuffix(metric, "-ns"):
		return duration(v)
	case metric == "B/op" || metric == "heap-B/flag":
		return bytesString(v)
	case v == float64(int64(v)):
		return strconv.FormatInt(int64(v), 10)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.0f ns", ns)
	}
}

func bytesString(v float64) string {
	switch {
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 10<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}

const legend = `
## What each case measures

- **Eval**: our evaluation.Evaluator and LaunchDarkly's go-server-sdk-evaluation Evaluator on the
  same decoded flags and contexts, in memory; the differential test checks they agree.
- **ClientEval / ClientEvalParallel**: BoolVariation of our client and of LaunchDarkly's LDClient in
  daemon mode (ExternalUpdatesOnly, redigo persistent store with the default 15 s cache), both on the
  same Redis dataset, caches warm.
- **TTLExpiry**: 64 goroutines (bursts of 16 evaluations, 1 ms apart) evaluate for the benchmark time
  with a 100 ms TTL on both clients; latency quantiles of single calls and store reads per second.
  LaunchDarkly's callers wait for Redis when an entry expires; ours are served the expired entry while
  one background read refreshes it.
- **RandomMix**: JSONVariation of a pseudo-random (flag, context) pair out of 1,000 flags and 1,000
  contexts from the differential test's generator (every operator, rules, rollouts, prerequisites,
  segments, multi-kind and old-user contexts), both clients warm on the same Redis dataset.
- **Staleness**: a flag rewritten every 5 ms directly in Redis (no notification); 4 or 64 goroutines
  evaluate it without pause for a second, so the CPU is saturated; "stale" is how long the value
  served had been outdated (since Redis applied the next version, by Redis's clock) when the call
  began. With a 100 ms
  TTL it should stay within 100 ms plus a round trip; "max-stale-at-return-ms" takes the age when
  the call returned instead (it adds the time the scheduler kept the caller off the CPU),
  "slow-calls-%" is the share of sampled calls over 1 ms, "evals/s" the throughput meanwhile,
  "writes/s" how many of the 200 writes a second the writer, starved of the processor too, made.
- **Tail**: 64 goroutines that never block call BoolVariation on the 22 benchmark flags for a second
  (100 ms TTL, Redis), "tight" back to back, "work" with about 2 µs of computation between calls;
  latency quantiles of single calls. The "No SDK (control)" column makes the same calls to a hash of
  the flag key and the context JSON (comparable trivial work, no SDK): its tail is the Go scheduler's
  (64 runnable goroutines on 2 cores, 10 ms time slices), the floor under both SDKs' tails.
- **StoreGet**: one read of one flag by each SDK's Redis integration alone, to tell the store's
  share of a cache miss from the cache's.
- **FirstEvaluation**: the first evaluation of each of 10,000 flags by a client (store read, decode,
  evaluate). **AllFlagsState**: all 1,000 flags for one context, with a new client each time (cold) or
  a warm one. **Startup**: store and client creation until ready as each SDK defines it in daemon
  mode (LaunchDarkly's MakeCustomClient returns initialized without reading Redis; ours is ready when
  New returns); neither reads the store before. **StartupFirstEvaluation**: until the first good
  evaluation of a flag (both read the store). Our WaitForInitialization, which waits for the store's
  $inited marker and has no LaunchDarkly counterpart, is BenchmarkStartupWaitForInitialization,
  outside the tables.
- **Outage**: each client on its own redis-server, 8 goroutines evaluating; the server is stopped for
  3 s and restarted on the same data; "defaults" counts evaluations that returned the caller's default
  instead of the flag's value; the latency quantiles cover every evaluation of the run.
- **BigSegments**: a flag matching a big segment; "cached" repeats one context, "uncached" cycles
  through 20,000 contexts (cache of 1,000), so each evaluation reads the memberships from Redis.
- **Decode**: model.DecodeFlag/DecodeSegment vs ldmodel's JSON unmarshalling (both preprocess).
- **Memory**: heap retained per flag (after GC) once 10,000 flags were each evaluated once;
  ns/op is the time to load them all.
`
