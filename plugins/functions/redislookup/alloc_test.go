package redislookup

import (
	"context"
	"fmt"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
)

// raceEnabled is set by race_test.go.
var raceEnabled bool

// TestCacheHitsDoNotAllocate pins that a hit builds its cache key without
// allocating: lookups run per event.
func TestCacheHitsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	_, c := start(t)
	ctx := context.Background()
	c.Set(ctx, "greeting", "hello", 0)
	c.SAdd(ctx, "tags", "a", "b")
	c.HSet(ctx, "user:1", "plan", "pro", "4096", "big")
	c.Set(ctx, "123456", "a number's key", 0)
	c.ZAdd(ctx, "sim:7", goredis.Z{Score: 2, Member: "9"}, goredis.Z{Score: 1, Member: "8"})
	for _, tc := range []struct {
		name string
		args []operators.Value
	}{
		{"redis_get", []operators.Value{str("greeting")}},
		{"redis_smembers", []operators.Value{str("tags")}},
		{"redis_hget", []operators.Value{str("user:1"), str("plan")}},
		{"redis_zrange", []operators.Value{str("sim:7"), operators.Int(5)}},
		{"redis_zrange", []operators.Value{str("sim:7"), operators.Int(100)}},
		{"redis_get", []operators.Value{operators.Int(123456)}},
		{"redis_hget", []operators.Value{str("user:1"), operators.Int(4096)}},
	} {
		f, _ := operators.LookupScalar(tc.name)
		want := f.Eval(tc.args)
		if want.IsNull() {
			t.Fatalf("%s(%v) = NULL: the key is not there", tc.name, tc.args)
		}
		current.Load().cache.Wait()
		if n := testing.AllocsPerRun(100, func() { f.Eval(tc.args) }); n != 0 {
			t.Errorf("%s(%v) hit: %v allocations, want 0", tc.name, tc.args, n)
		}
		if got := f.Eval(tc.args); got != want {
			t.Errorf("%s(%v) hit = %v, want %v", tc.name, tc.args, got, want)
		}
	}
}

// TestConcurrentLookups has statements' goroutines look up different keys
// at once: each must get its own key's answer, from Redis and the cache.
func TestConcurrentLookups(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	const goroutines, keys = 8, 20
	for g := range goroutines {
		for k := range keys {
			c.Set(ctx, fmt.Sprintf("g%d:k%d", g, k), fmt.Sprintf("v%d.%d", g, k), 0)
		}
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for round := range 3 {
				for k := range keys {
					key := fmt.Sprintf("g%d:k%d", g, k)
					if got, want := call(t, "redis_get", str(key)), str(fmt.Sprintf("v%d.%d", g, k)); got != want {
						t.Errorf("round %d: redis_get(%s) = %v, want %v", round, key, got, want)
					}
				}
			}
		})
	}
	wg.Wait()
}
