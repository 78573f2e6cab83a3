//go:build !linux

package integration

import "syscall"

// sysProcAttr returns nil where the kernel cannot tie a child's life to the
// test process: children are still stopped by PID when their test ends.
func sysProcAttr() *syscall.SysProcAttr { return nil }
