package bench

import (
	"context"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// quietRedisLog drops go-redis's own log lines (such as "failed to dial"
// during the outage benchmark), which would otherwise interleave with the
// benchmark results that cmd/compare parses.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

// TestMain closes the clients shared by several benchmarks and deletes the
// datasets this run wrote to the shared Redis server.
func TestMain(m *testing.M) {
	goredis.SetLogger(quietRedisLog{})
	code := m.Run()
	runFinalCleanups()
	deleteRedisPrefixes()
	os.Exit(code)
}
