// Command daemonflag fills and inspects the stores that daemonflag clients
// (and LaunchDarkly SDKs in daemon mode) read: it writes flag data files to a
// store once (write) or continuously (sync), evaluates flags as a client would
// (eval), shows and exports a store's content (inspect, export), imports
// big-segment memberships (bigsegments), and fills a store from LaunchDarkly
// (relay).
//
// Run "daemonflag help" for the commands and "daemonflag help COMMAND" for
// each command's flags and examples. Errors go to standard error; the exit
// status is 0 on success, 1 on failure and 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/term"

	"github.com/daemonflag/daemonflag/stores"
)

func main() {
	// go-redis logs failed dials on its own; the errors this command prints
	// carry the same cause, once.
	goredis.SetLogger(quietLogger{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		getenv:   os.Getenv,
		terminal: term.IsTerminal(int(os.Stderr.Fd())),
	}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// quietLogger discards go-redis's log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// envStore is the environment variable that supplies --store.
const envStore = "DAEMONFLAG_STORE"

// app is one run of the command, with its input and output, so tests can
// run it in process.
type app struct {
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	getenv   func(string) string
	terminal bool // stderr is a terminal: progress bars are welcome
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // the synopsis, after "daemonflag "
	help    string // what it does, then examples
	run     func(ctx context.Context, a *app, cmd *command, args []string) error
}

// commands returns the subcommands in the order help lists them.
func commands() []*command {
	return []*command{cmdWrite, cmdSync, cmdRelay, cmdValidate, cmdEval, cmdInspect, cmdExport, cmdCopy, cmdWatch, cmdBigSegments, cmdVersion}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

const mainHelp = `daemonflag fills and inspects the stores that daemonflag clients (and LaunchDarkly
SDKs in daemon mode) read flags from.

Usage:
  daemonflag COMMAND [flags] [arguments]

Commands:
%s
Store addresses (--store ADDR, or the DAEMONFLAG_STORE environment variable):
  bolt:PATH                                      a bbolt file, e.g. bolt:./flags.db (a writer creates
                                                 a missing directory only with ?mkdir=true)
  redis://[USER:PASSWORD@]HOST:PORT[/DB]         one Redis server; rediss:// for TLS
  redis+cluster://HOST:PORT?addr=HOST2:PORT2     a Redis Cluster (needs ?prefix={tag})
  redis+sentinel://HOST:PORT?master=NAME         Redis Sentinel
  dynamodb://TABLE?endpoint=URL&region=REGION    a DynamoDB table (AWS credentials from the
                                                 environment or profile; local servers accept
                                                 any, e.g. AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x)
  file:PATH[,PATH...]                            flag data files, read-only, reloaded on change
                                                 (for inspect, export, eval and copy's source)
  Every address but file: takes ?prefix=P, the dataset's name in the store (default
  "launchdarkly" for bbolt and Redis, none for DynamoDB, as LaunchDarkly does).

Examples:
  daemonflag write --store bolt:./flags.db flags.yaml
  daemonflag eval --store bolt:./flags.db --context '{"kind":"user","key":"alice"}'
  daemonflag export --store redis://localhost:6379 | daemonflag write --store bolt:./copy.db -

Run "daemonflag help COMMAND" for a command's flags and examples, and
"daemonflag --version" for the version and source revision.
Exit status: 0 on success, 1 on failure, 2 on a usage error.
`

func (a *app) mainUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainHelp, b.String())
}

// run runs the command line args (without the program name) and returns
// the exit status.
func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		a.mainUsage(a.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "--version", "-version":
		name = "version"
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			a.mainUsage(a.stdout)
			return exitOK
		}
		c := findCommand(rest[0])
		if c == nil {
			fmt.Fprintf(a.stderr, "daemonflag: unknown command %q; run \"daemonflag help\" for the list\n", rest[0])
			return exitUsage
		}
		// "help bigsegments import" shows the subcommand's help.
		return a.exit(c, c.run(ctx, a, c, append(rest[1:], "--help")))
	}
	c := findCommand(name)
	if c == nil {
		fmt.Fprintf(a.stderr, "daemonflag: unknown command %q; run \"daemonflag help\" for the list\n", name)
		return exitUsage
	}
	return a.exit(c, c.run(ctx, a, c, rest))
}

// exit reports err on stderr and returns the exit status for it.
func (a *app) exit(c *command, err error) int {
	var ue *usageError
	var ae *stores.AddressError
	switch {
	case err == nil || errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, &ae):
		fmt.Fprintf(a.stderr, "daemonflag %s: %v\n", c.name, ae)
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "daemonflag %s: %s\nRun \"daemonflag help %s\" for usage.\n", ue.cmd, ue.msg, ue.cmd)
		return exitUsage
	case errors.Is(err, errReported):
		return exitFail
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(a.stderr, "daemonflag %s: interrupted\n", c.name)
		return exitFail
	}
	fmt.Fprintf(a.stderr, "daemonflag %s: %v\n", c.name, err)
	return exitFail
}

// usageError is a command line that does not make sense; the exit status
// is 2.
type usageError struct {
	cmd string
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// errHelpShown ends a command after --help printed its help.
var errHelpShown = errors.New("help shown")

// errReported ends a command whose errors have been printed already.
var errReported = errors.New("failed (see above)")

// flags returns a FlagSet for the command; parse it with a.parse.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args, allowing flags after positional arguments ("write
// flags.json --store bolt:x.db"); after "--" every argument is positional.
// On --help it prints the command's help to stdout and returns
// errHelpShown.
func (a *app) parse(c *command, fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			a.commandHelp(c, fs, a.stdout)
			return nil, errHelpShown
		}
		if err != nil {
			return nil, usagef(c.name, "%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// commandHelp prints a command's usage, flags and examples.
func (a *app) commandHelp(c *command, fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage:\n  daemonflag %s\n\n", c.usage)
	fmt.Fprintf(w, "%s\n", strings.TrimSpace(c.summaryLine()))
	desc, examples, _ := strings.Cut(c.help, "\nExamples:\n")
	if d := strings.TrimSpace(desc); d != "" {
		fmt.Fprintf(w, "\n%s\n", d)
	}
	if fs != nil {
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(w, "\nFlags:\n")
			printFlags(w, fs)
		}
	}
	if e := strings.TrimRight(examples, "\n "); e != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", e)
	}
}

func (c *command) summaryLine() string {
	s := c.summary
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// printFlags lists the flags in the "--name VALUE" form the help texts use.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n        %s", line, usage)
		if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "0s" {
			fmt.Fprintf(w, " (default %s)", d)
		}
		fmt.Fprintln(w)
	})
}
