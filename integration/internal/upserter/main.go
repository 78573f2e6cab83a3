// Command upserter is a writer process of the integration tests: it upserts
// flags into a store through package writer (as `daemonflag` does), each
// with an explicit version, in a shuffled order, so that two upserters
// started together race on the same keys. It is built by the tests and
// never installed.
//
// Flag i is "race-<i>"; version v serves the string "<id>@<v>", so a reader
// can tell which writer and version it sees. With -parity odd the versions
// are 1, 3, ..., up to -max; with even, 2, 4, .... Every (flag, version)
// pair is written once, in an order drawn from -seed.
//
// At the end it prints one JSON line:
// {"applied":N,"refused":N,"errors":N,"first":T,"last":T} (refused: the
// store held a higher version; first and last: Unix nanoseconds of the
// first and last upsert's start). It exits when done, after
// -max-run, or on SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

func main() {
	addr := flag.String("store", "", "store address (required)")
	id := flag.String("id", "w", "writer name, part of every value")
	n := flag.Int("flags", 5, "number of flags")
	parity := flag.String("parity", "odd", "odd or even versions")
	maxVersion := flag.Int("max", 40, "highest version")
	seed := flag.Uint64("seed", 1, "shuffle seed")
	maxRun := flag.Duration("max-run", 2*time.Minute, "stop after this long")
	startAt := flag.Int64("start-at", 0, "Unix nanoseconds to wait for before the first upsert (at most 10 s ahead), so that two upserters start together")
	flag.Parse()
	if err := run(*addr, *id, *n, *parity, *maxVersion, *seed, *maxRun, time.Unix(0, *startAt)); err != nil {
		fmt.Fprintln(os.Stderr, "upserter:", err)
		os.Exit(1)
	}
}

// raceKey returns the key of race flag i.
func raceKey(i int) string { return fmt.Sprintf("race-%d", i) }

func run(addr, id string, n int, parity string, maxVersion int, seed uint64, maxRun time.Duration, startAt time.Time) error {
	if addr == "" || n <= 0 || maxVersion <= 0 {
		return errors.New("-store, -flags and -max are required")
	}
	lowest := 1
	switch parity {
	case "odd":
	case "even":
		lowest = 2
	default:
		return fmt.Errorf("-parity %q: want odd or even", parity)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	ctx, cancelRun := context.WithTimeout(ctx, maxRun)
	defer cancelRun()

	s, err := stores.Open(ctx, addr)
	if err != nil {
		return err
	}
	defer s.Close()

	type job struct{ flag, version int }
	var jobs []job
	for v := lowest; v <= maxVersion; v += 2 {
		for i := range n {
			jobs = append(jobs, job{i, v})
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	r.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })

	// The store is open and the work planned: wait for the start signal.
	if wait := time.Until(startAt); wait > 0 {
		select {
		case <-time.After(min(wait, 10*time.Second)):
		case <-ctx.Done():
		}
	}

	var applied, refused, failed int
	var first, last int64
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		last = time.Now().UnixNano()
		if first == 0 {
			first = last
		}
		data, _ := json.Marshal(map[string]any{
			"key": raceKey(j.flag), "version": j.version, "on": true, "salt": "race",
			"variations":  []any{fmt.Sprintf("%s@%d", id, j.version)},
			"fallthrough": map[string]any{"variation": 0}, "offVariation": 0,
		})
		res, err := writer.UpsertFlag(ctx, s, data)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(os.Stderr, "upserter %s: %s version %d: %v\n", id, raceKey(j.flag), j.version, err)
		case res.Applied:
			applied++
		default:
			refused++
		}
	}
	out, _ := json.Marshal(map[string]int64{"applied": int64(applied), "refused": int64(refused),
		"errors": int64(failed), "first": first, "last": last})
	fmt.Println(string(out))
	if failed > 0 {
		return fmt.Errorf("%d upserts failed", failed)
	}
	return ctx.Err()
}
