package nudge

import (
	"net"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testwait"
)

// Quiet tells an idle connection from one with bytes waiting or closed by
// its peer, and cannot tell for a connection Wrap did not wrap.
func TestQuiet(t *testing.T) {
	if !canPeek {
		t.Skip("no non-blocking peek on this system")
	}
	c, srv := pair(t)
	if !Quiet(c) {
		t.Fatal("an idle connection is not quiet")
	}
	if _, err := srv.Write([]byte("+OK\r\n")); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the reply to arrive", func() bool { return !Quiet(c) })
	buf := make([]byte, 5)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if !Quiet(c) {
		t.Fatal("a connection whose bytes were read is not quiet")
	}
	_ = srv.Close()
	testwait.Eventually(t, "the close to arrive", func() bool { return !Quiet(c) })

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if !Quiet(a) {
		t.Error("Quiet of a connection it cannot check = false; want true")
	}
}
