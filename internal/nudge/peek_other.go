//go:build !unix

package nudge

import "syscall"

const canPeek = false

type peeker struct{}

func (p *peeker) init() {}

func (p *peeker) readable(syscall.RawConn) bool { return false }
