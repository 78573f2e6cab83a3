package redis_test

import (
	"context"
	"fmt"
	"log"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/redis"
)

func ExampleParseURL() {
	o, err := redis.ParseURL("rediss+cluster://flags:secret@10.0.0.1:7000?addr=10.0.0.2:7000&prefix={launchdarkly}")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(o.Addrs, o.Cluster, o.Redis.Username, o.Prefix, o.Redis.TLSConfig != nil)
	// Output: [10.0.0.1:7000 10.0.0.2:7000] true flags {launchdarkly} true
}

func ExampleNew() {
	s, err := redis.New(redis.Options{
		URL:    "redis://127.0.0.1:6379",
		Prefix: "launchdarkly", // what the Relay Proxy writes by default
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	item, found, err := s.Get(context.Background(), store.Features, "new-checkout")
	if err != nil {
		log.Fatal(err) // errors.Is(err, store.ErrUnavailable) when Redis is down
	}
	fmt.Println(found, item.Version)
}
