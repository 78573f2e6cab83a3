package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

var cmdVersion = &command{
	name:    "version",
	summary: "print daemonflag's version and source revision",
	usage:   "version",
	help: `
Prints the module version (or "(devel)" for a build from a clone), the VCS
revision and time it was built from (with "+modified" when the working tree
had uncommitted changes) and the Go version, from the binary's build
information. "daemonflag --version" prints the same.

Examples:
  daemonflag version
  daemonflag --version
`,
	run: runVersion,
}

func runVersion(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("version")
	if rest, err := a.parse(cmd, fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("version", "unexpected argument %q", rest[0])
	}
	fmt.Fprintln(a.stdout, versionLine(debug.ReadBuildInfo()))
	return nil
}

// versionLine formats the build information as one line:
//
//	daemonflag (devel) github.com/daemonflag/daemonflag revision 3f2a… (2026-12-01T23:10:00Z, +modified) go1.26.0
func versionLine(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "daemonflag: no build information (built without module support)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "daemonflag %s %s", info.Main.Version, info.Main.Path)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, " revision %s", rev)
		var extra []string
		if t := settings["vcs.time"]; t != "" {
			extra = append(extra, t)
		}
		if settings["vcs.modified"] == "true" {
			extra = append(extra, "+modified")
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
		}
	} else {
		b.WriteString(" revision unknown (built outside a VCS checkout, or with -buildvcs=false)")
	}
	fmt.Fprintf(&b, " %s", info.GoVersion)
	return b.String()
}
