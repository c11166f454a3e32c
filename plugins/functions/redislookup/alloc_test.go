package redislookup

import (
	"context"
	"fmt"
	"sync"
	"testing"

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
	for _, tc := range []struct {
		name string
		arg  operators.Value
	}{
		{"redis_get", str("greeting")},
		{"redis_smembers", str("tags")},
	} {
		f, _ := operators.LookupScalar(tc.name)
		args := []operators.Value{tc.arg}
		want := f.Eval(args)
		current.Load().cache.Wait()
		if n := testing.AllocsPerRun(100, func() { f.Eval(args) }); n != 0 {
			t.Errorf("%s(%v) hit: %v allocations, want 0", tc.name, tc.arg, n)
		}
		if got := f.Eval(args); got != want {
			t.Errorf("%s(%v) hit = %v, want %v", tc.name, tc.arg, got, want)
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
