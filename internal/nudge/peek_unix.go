//go:build unix

package nudge

import "syscall"

const canPeek = true

// peeker checks a socket's receive buffer without blocking. Its function is
// made once per connection, so a check makes no allocation.
type peeker struct {
	buf [1]byte
	n   int
	err error
	fn  func(fd uintptr)
}

func (p *peeker) init() {
	p.fn = func(fd uintptr) {
		p.n, _, p.err = syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	}
}

// readable reports whether a read of the socket would not block: bytes
// have arrived, the peer closed it, or it failed.
func (p *peeker) readable(raw syscall.RawConn) bool {
	if err := raw.Control(p.fn); err != nil {
		return false // closed: the reader learns it by itself
	}
	return p.n > 0 || (p.err != syscall.EAGAIN && p.err != syscall.EWOULDBLOCK && p.err != syscall.EINTR)
}
