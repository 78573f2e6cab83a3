package stores_test

import (
	"fmt"

	"github.com/daemonflag/daemonflag/stores"
)

func ExampleParse() {
	a, err := stores.Parse("redis://app:secret@localhost:6379/2?prefix=prod")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Backend, a.Prefix, a.Redis.Redis.DB, a)

	_, err = stores.Parse("flags.db")
	fmt.Println(err)
	// Output:
	// redis prod 2 redis://app:xxxxx@localhost:6379/2?prefix=prod
	// store address "flags.db": no scheme; a bbolt file is written bolt:PATH, other stores as one of bolt:, redis://, rediss://, redis+cluster://, redis+sentinel://, dynamodb://, file: (example: bolt:./flags.db)
}
