package redislookup

import (
	"context"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
)

// maxMembers caps redis_zrange's n, so one lookup cannot pull a huge set
// onto a statement's goroutine.
const maxMembers = 1000

func init() {
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "redis_get", Volatile: true, MinArgs: 1, MaxArgs: 1,
		Doc: "redis_get(key): the string at key in Redis (GET), cached for 1s; NULL when missing or without --redis-url",
		Eval: func(args []operators.Value) operators.Value {
			if args[0].IsNull() {
				return operators.Null()
			}
			key := args[0]
			return cached("get", func(ctx context.Context, c *goredis.Client) (operators.Value, error) {
				s, err := c.Get(ctx, key.Text()).Result()
				return operators.Str(s), err
			}, key)
		},
	})
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "redis_hget", Volatile: true, MinArgs: 2, MaxArgs: 2,
		Doc: "redis_hget(key, field): a hash field in Redis (HGET), cached for 1s; NULL when missing or without --redis-url",
		Eval: func(args []operators.Value) operators.Value {
			if args[0].IsNull() || args[1].IsNull() {
				return operators.Null()
			}
			key, field := args[0], args[1]
			return cached("hget", func(ctx context.Context, c *goredis.Client) (operators.Value, error) {
				s, err := c.HGet(ctx, key.Text(), field.Text()).Result()
				return operators.Str(s), err
			}, key, field)
		},
	})
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "redis_zrange", Volatile: true, MinArgs: 2, MaxArgs: 2,
		Doc: "redis_zrange(key, n): the n highest-scored members of a sorted set, highest first, as a JSON array (e.g. the items most similar to one), cached for 1s; [] when missing, NULL without --redis-url",
		Eval: func(args []operators.Value) operators.Value {
			n, ok := args[1].Int64()
			if args[0].IsNull() || !ok || n <= 0 {
				return operators.Null()
			}
			n = min(n, maxMembers)
			key := args[0]
			return cached("zrange", func(ctx context.Context, c *goredis.Client) (operators.Value, error) {
				m, err := c.ZRevRange(ctx, key.Text(), 0, n-1).Result()
				return jsonArray(m), err
			}, key, operators.Int(n))
		},
	})
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "redis_smembers", Volatile: true, MinArgs: 1, MaxArgs: 1,
		Doc: "redis_smembers(key): the members of a set in Redis, sorted, as a JSON array, cached for 1s; [] when missing, NULL without --redis-url",
		Eval: func(args []operators.Value) operators.Value {
			if args[0].IsNull() {
				return operators.Null()
			}
			key := args[0]
			return cached("smembers", func(ctx context.Context, c *goredis.Client) (operators.Value, error) {
				m, err := c.SMembers(ctx, key.Text()).Result()
				slices.Sort(m)
				return jsonArray(m), err
			}, key)
		},
	})
}
