package redislookup

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
	"sluice/plugins/sinks/redis/redistest"
)

func call(t testing.TB, name string, args ...operators.Value) operators.Value {
	t.Helper()
	f, ok := operators.LookupScalar(name)
	if !ok {
		t.Fatalf("%s is not registered", name)
	}
	return f.Eval(args)
}

func start(t testing.TB) (*redistest.Server, *goredis.Client) {
	srv := redistest.NewServer(t)
	if err := setup(&operators.Env{RedisURL: srv.URL()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = setup(&operators.Env{}) })
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

var (
	str = operators.Str
	num = operators.Int
)

func TestLookups(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	c.Set(ctx, "greeting", "hello", 0)
	c.HSet(ctx, "user:u1", "segment", "gold")
	c.ZAdd(ctx, "sim:i1", goredis.Z{Score: 3, Member: "i2"}, goredis.Z{Score: 9, Member: "i3"}, goredis.Z{Score: 5, Member: `i"4`})
	c.SAdd(ctx, "tags", "b", "a", "c")

	for _, tc := range []struct {
		name string
		args []operators.Value
		want operators.Value
	}{
		{"redis_get", []operators.Value{str("greeting")}, str("hello")},
		{"redis_get", []operators.Value{str("absent")}, operators.Null()},
		{"redis_get", []operators.Value{operators.Null()}, operators.Null()},
		{"redis_hget", []operators.Value{str("user:u1"), str("segment")}, str("gold")},
		{"redis_hget", []operators.Value{str("user:u1"), str("age")}, operators.Null()},
		{"redis_zrange", []operators.Value{str("sim:i1"), num(2)}, operators.RawJSON(`["i3","i\"4"]`)},
		{"redis_zrange", []operators.Value{str("sim:i1"), num(10)}, operators.RawJSON(`["i3","i\"4","i2"]`)},
		{"redis_zrange", []operators.Value{str("sim:none"), num(5)}, operators.RawJSON(`[]`)},
		{"redis_zrange", []operators.Value{str("sim:i1"), num(0)}, operators.Null()},
		{"redis_zrange", []operators.Value{str("sim:i1"), str("five")}, operators.Null()},
		{"redis_smembers", []operators.Value{str("tags")}, operators.RawJSON(`["a","b","c"]`)},
		{"redis_get", []operators.Value{str("tags")}, operators.Null()}, // WRONGTYPE: NULL, not a crash
	} {
		if got := call(t, tc.name, tc.args...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.args, got, tc.want)
		}
	}
}

func TestAnswersAreCachedForASecond(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	c.Set(ctx, "k", "old", 0)
	if got := call(t, "redis_get", str("k")); got != str("old") {
		t.Fatalf("first lookup %v", got)
	}
	current.Load().cache.Wait()
	changed := time.Now()
	c.Set(ctx, "k", "new", 0)
	if got := call(t, "redis_get", str("k")); got != str("old") {
		t.Fatalf("lookup right after the change = %v, want the cached old", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for call(t, "redis_get", str("k")) != str("new") {
		if time.Now().After(deadline) {
			t.Fatal("cached answer never expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if waited := time.Since(changed); waited > 3*time.Second {
		t.Fatalf("the change showed after %s; the cache keeps answers for 1s", waited)
	}
}

func TestNullWithoutRedis(t *testing.T) {
	if err := setup(&operators.Env{}); err != nil {
		t.Fatal(err)
	}
	if got := call(t, "redis_get", str("k")); !got.IsNull() {
		t.Fatalf("without --redis-url: %v", got)
	}
	srv, _ := start(t)
	srv.Stop()
	begin := time.Now()
	if got := call(t, "redis_zrange", str("sim:i1"), num(5)); !got.IsNull() {
		t.Fatalf("with Redis down: %v", got)
	}
	if took := time.Since(begin); took > time.Second {
		t.Fatalf("a lookup with Redis down took %s", took)
	}
}

func BenchmarkCachedGet(b *testing.B) {
	_, c := start(b)
	c.Set(context.Background(), "k", "v", 0)
	call(b, "redis_get", str("k"))
	current.Load().cache.Wait()
	f, _ := operators.LookupScalar("redis_get")
	args := []operators.Value{str("k")}
	b.ReportAllocs()
	for b.Loop() {
		f.Eval(args)
	}
}
