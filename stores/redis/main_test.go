package redis

import (
	"context"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// quietLogger drops go-redis's internal log lines (one per failed dial in
// the outage tests), which would bury the test output.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	if os.Getenv("DAEMONFLAG_REDIS_LOG") == "" {
		goredis.SetLogger(quietLogger{})
	}
	os.Exit(m.Run())
}
