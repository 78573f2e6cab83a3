//go:build linux

package bench

import "syscall"

// processCPU returns the CPU time (user and system, in nanoseconds) the
// whole process has used, every thread included (the SDK's background
// goroutines and the garbage collector too), and whether it could be read.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
