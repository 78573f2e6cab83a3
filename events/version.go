package events

import "runtime/debug"

// version is the daemonflag module's version as built, or "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == "github.com/daemonflag/daemonflag" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/daemonflag/daemonflag" {
				return d.Version
			}
		}
	}
	return "dev"
}
