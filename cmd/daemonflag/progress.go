package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/daemonflag/daemonflag/membership"
	"github.com/schollz/progressbar/v3"
)

// progressMode is how an import reports its progress.
type progressMode int

const (
	progressNone  progressMode = iota
	progressBar                // a bar redrawn in place: for terminals
	progressLines              // a plain line every few seconds: for logs
)

// progressLineInterval is how often progressLines writes a line.
const progressLineInterval = 5 * time.Second

func progressFor(name string, terminal bool) (progressMode, error) {
	switch name {
	case "auto":
		if terminal {
			return progressBar, nil
		}
		return progressLines, nil
	case "bar":
		return progressBar, nil
	case "lines":
		return progressLines, nil
	case "none":
		return progressNone, nil
	}
	return progressNone, fmt.Errorf("--progress must be auto, bar, lines or none, not %q", name)
}

// progress reports an import's running totals.
type progress struct {
	mode     progressMode
	w        io.Writer
	bar      *progressbar.ProgressBar
	mu       sync.Mutex
	last     time.Time
	interval time.Duration
	latest   membership.Progress
	printed  bool
}

// newProgress returns a reporter; total is the expected number of keys, or
// -1 when unknown (the bar then shows a count and rate without a end).
func newProgress(mode progressMode, w io.Writer, total int64) *progress {
	p := &progress{mode: mode, w: w, last: time.Now(), interval: progressLineInterval}
	if mode == progressBar {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionSetItsString("keys"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(total > 0),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// update is membership.Options.Progress.
func (p *progress) update(ip membership.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest = ip
	done := int64(ip.Added + ip.Removed + ip.Unchanged)
	switch p.mode {
	case progressBar:
		_ = p.bar.Set64(done)
	case progressLines:
		if time.Since(p.last) >= p.interval {
			p.last = time.Now()
			p.line(ip)
		}
	}
}

func (p *progress) line(ip membership.Progress) {
	done := ip.Added + ip.Removed + ip.Unchanged
	rate := 0.0
	if s := ip.Elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	fmt.Fprintf(p.w, "import: %d keys (added %d, removed %d, unchanged %d) in %.1fs, %.0f keys/s\n",
		done, ip.Added, ip.Removed, ip.Unchanged, ip.Elapsed.Seconds(), rate)
	p.printed = true
}

// finish ends the report: the bar is cleared (the summary follows).
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == progressBar {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
	}
}
