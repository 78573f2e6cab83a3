//go:build !linux

package bench

// processCPU is not available here (see proccpu_linux_test.go).
func processCPU() (int64, bool) { return 0, false }
