package integration

import "syscall"

// sysProcAttr makes the kernel kill a child with SIGKILL when the test
// process dies, so that no server, writer or client outlives a crashed or
// killed test run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
