//go:build !linux

package bench

// threadCPU is not available here (see threadcpu_linux_test.go).
func threadCPU() (int64, bool) { return 0, false }
