package redis

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// TestSentinel runs a master and one Sentinel watching it, both owned by the
// test, and uses the store through a redis+sentinel URL: the failover client
// asks the Sentinel for the master and works on it.
func TestSentinel(t *testing.T) {
	master := startServer(t, plainArgs)
	dir := t.TempDir()
	sentinel := startServer(t, func(port int) []string {
		conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", port))
		body := fmt.Sprintf("port %d\nsentinel monitor df-master 127.0.0.1 %d 1\n"+
			"sentinel down-after-milliseconds df-master 60000\n", port, master.port)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{conf, "--sentinel"}
	})
	p := testPrefix("sentinel")
	var s *Store
	eventually(t, "the Sentinel names the master", 10*time.Second, func() error {
		st, err := New(Options{URL: fmt.Sprintf("redis+sentinel://%s?master=df-master&prefix=%s", sentinel.addr(), p)})
		if err != nil {
			return err
		}
		if err := st.Ping(ctxT(t)); err != nil {
			_ = st.Close()
			return err
		}
		s = st
		return nil
	})
	t.Cleanup(func() { _ = s.Close() })
	if err := roundTrip(t, s); err != nil {
		t.Fatal(err)
	}
	// The data is on the master.
	raw := goredis.NewClient(&goredis.Options{Addr: master.addr()})
	t.Cleanup(func() { _ = raw.Close() })
	if n := raw.HLen(ctxT(t), p+":features").Val(); n != 1 {
		t.Errorf("the master holds %d flags, want 1", n)
	}
	// Change notification through the Sentinel: another store object's
	// write (its own connections) is announced on the master.
	w, err := New(Options{URL: fmt.Sprintf("redis+sentinel://%s?master=df-master&prefix=%s", sentinel.addr(), p)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	log := newChangeLog()
	if err := s.Notify(ctxT(t), log.fn); err != nil {
		t.Fatalf("Notify through the Sentinel: %v", err)
	}
	if _, err := w.Upsert(ctxT(t), store.Features, "sentinel-flag", mustItem(t, `{"key":"sentinel-flag","version":1}`)); err != nil {
		t.Fatal(err)
	}
	log.wait(t, "an upsert through the Sentinel", isItem(store.Features, "sentinel-flag"))
}
