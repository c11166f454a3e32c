package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"sluice/operators"
	"sluice/plugins/sinks/redis/redistest"
	"sluice/plugins/sinks/sinktest"
)

func newSink(t testing.TB, env *operators.Env, args map[string]string, columns ...string) *Sink {
	t.Helper()
	return sinktest.Open(t, "redis", env, args, columns...).(*Sink)
}

func client(t testing.TB, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dump is every key of the database as "type contents ttl", with TTLs
// rounded to whole minutes so that the seconds a test takes do not matter.
func dump(t testing.TB, c *goredis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ := c.Type(ctx, k).Val()
		var body string
		switch typ {
		case "set":
			m := c.SMembers(ctx, k).Val()
			slices.Sort(m)
			body = strings.Join(m, ",")
		case "hash":
			h := c.HGetAll(ctx, k).Val()
			for _, f := range slices.Sorted(maps.Keys(h)) {
				body += f + "=" + h[f] + ";"
			}
		case "zset":
			for _, z := range c.ZRangeWithScores(ctx, k, 0, -1).Val() {
				body += fmt.Sprintf("%v:%g;", z.Member, z.Score)
			}
		case "list":
			body = strings.Join(c.LRange(ctx, k, 0, -1).Val(), ",")
		case "string":
			body = c.Get(ctx, k).Val()
			if strings.HasPrefix(body, "HYLL") {
				// PFCOUNT caches the count inside the value: count first, then read it.
				typ = "hll"
				n := c.PFCount(ctx, k).Val()
				body = fmt.Sprintf("count=%d raw=%x", n, c.Get(ctx, k).Val())
			}
		}
		ttl := "no ttl"
		if d := c.PTTL(ctx, k).Val(); d > 0 {
			ttl = "ttl " + (d + time.Minute - 1).Truncate(time.Minute).String()
		}
		out[k] = typ + " " + body + " " + ttl
	}
	return out
}

func row(names string, values ...operators.Value) *operators.Record {
	return operators.NewRow(strings.Split(names, ","), values...)
}

var (
	str = operators.Str
	num = operators.Int
)

func TestModesWriteExactStateAndReplays(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	env := &operators.Env{RedisURL: srv.URL()}
	dau := []*operators.Record{
		row("date,mid", str("2026-11-21"), str("m1")),
		row("date,mid", str("2026-11-21"), str("m2")),
		row("date,mid", str("2026-11-21"), str("m1")),
		row("date,mid", str("2026-11-22"), str("m3")),
	}
	for _, tc := range []struct {
		name   string
		args   map[string]string
		rows   []*operators.Record
		want   map[string]string
		replay map[string]string // state after writing the rows twice, when not want
	}{{
		name: "set",
		args: map[string]string{"mode": "set", "key": "dau:{date}", "member": "mid", "ttl": "48h"},
		rows: dau,
		want: map[string]string{
			"dau:2026-11-21": "set m1,m2 ttl 48h0m0s",
			"dau:2026-11-22": "set m3 ttl 48h0m0s",
		},
	}, {
		name: "hll",
		args: map[string]string{"mode": "hll", "key": "uv:{date}", "member": "{mid}"},
		rows: dau,
		want: map[string]string{
			"uv:2026-11-21": "hll count=2 raw=" + hllRaw(t, c, "m1", "m2") + " no ttl",
			"uv:2026-11-22": "hll count=1 raw=" + hllRaw(t, c, "m3") + " no ttl",
		},
	}, {
		name: "hash",
		args: map[string]string{"mode": "hash", "key": "views:{date}", "field": "{country}/{device}", "value": "views", "ttl": "1h"},
		rows: []*operators.Record{
			row("date,country,device,views", str("2026-11-21"), str("DE"), str("mobile"), num(7)),
			row("date,country,device,views", str("2026-11-21"), str("US"), str("desktop"), operators.Float(2.5)),
			row("date,country,device,views", str("2026-11-21"), str("DE"), str("mobile"), num(9)),
		},
		want: map[string]string{"views:2026-11-21": "hash DE/mobile=9;US/desktop=2.5; ttl 1h0m0s"},
	}, {
		name: "zset",
		args: map[string]string{"mode": "zset", "key": "top:{date}", "member": "item", "score": "views"},
		rows: []*operators.Record{
			row("date,item,views", str("2026-11-21"), str("i1"), num(3)),
			row("date,item,views", str("2026-11-21"), str("i2"), num(5)),
			row("date,item,views", str("2026-11-21"), str("i1"), num(4)),
		},
		want: map[string]string{"top:2026-11-21": "zset i1:4;i2:5; no ttl"},
	}, {
		name: "zincr",
		args: map[string]string{"mode": "zincr", "key": "sim:{item}", "member": "other", "score": "weight"},
		rows: []*operators.Record{
			row("item,other,weight", str("i1"), str("i2"), num(1)),
			row("item,other,weight", str("i1"), str("i3"), num(5)),
			row("item,other,weight", str("i1"), str("i2"), num(3)),
		},
		want:   map[string]string{"sim:i1": "zset i2:4;i3:5; no ttl"},
		replay: map[string]string{"sim:i1": "zset i2:8;i3:10; no ttl"},
	}, {
		name: "zincr constant score",
		args: map[string]string{"mode": "zincr", "key": "clicks", "member": "item", "score": "1"},
		rows: []*operators.Record{
			row("item", str("i1")), row("item", str("i2")), row("item", str("i1")),
		},
		want:   map[string]string{"clicks": "zset i2:1;i1:2; no ttl"},
		replay: map[string]string{"clicks": "zset i2:2;i1:4; no ttl"},
	}, {
		name: "list",
		args: map[string]string{"mode": "list", "key": "rec:{user}", "member": "item", "max_len": "3", "ttl": "24h"},
		rows: []*operators.Record{
			row("user,item", str("u1"), str("i1")),
			row("user,item", str("u1"), str("i2")),
			row("user,item", str("u1"), str("i3")),
			row("user,item", str("u1"), str("i2")),
			row("user,item", str("u2"), str("i9")),
			row("user,item", str("u1"), str("i4")),
		},
		// Most recent first, each member once, at most 3.
		want: map[string]string{
			"rec:u1": "list i4,i2,i3 ttl 24h0m0s",
			"rec:u2": "list i9 ttl 24h0m0s",
		},
	}, {
		name: "list of recommendation arrays",
		args: map[string]string{"mode": "list", "key": "rec:{user}", "member": "recs", "max_len": "3"},
		rows: []*operators.Record{
			row("user,recs", str("u1"), operators.RawJSON(`["i3","i4"]`)),
			row("user,recs", str("u1"), operators.RawJSON(`["i4","i9"]`)),
			row("user,recs", str("u2"), operators.RawJSON(`[]`)),
		},
		want: map[string]string{"rec:u1": "list i4,i9,i3 no ttl"},
	}, {
		name: "set of arrays",
		args: map[string]string{"mode": "set", "key": "tags:{day}", "member": "tags"},
		rows: []*operators.Record{
			row("day,tags", str("d1"), operators.RawJSON(`["a",7,null,"b"]`)),
			row("day,tags", str("d1"), operators.RawJSON(`["b","c"]`)),
		},
		want: map[string]string{"tags:d1": "set 7,a,b,c no ttl"},
	}, {
		name: "string",
		args: map[string]string{"mode": "string", "key": "last:{user}", "ttl": "10m"},
		rows: []*operators.Record{
			row("user,page", str("u1"), str("/a")),
			row("user,page", str("u1"), str("/b")),
		},
		want: map[string]string{"last:u1": `string {"user":"u1","page":"/b"} ttl 10m0s`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			s := newSink(t, env, tc.args)
			sinktest.Write(t, s, tc.rows)
			if got := dump(t, c); !maps.Equal(got, tc.want) {
				t.Fatalf("after writing:\n%q\nwant\n%q", got, tc.want)
			}
			sinktest.Write(t, s, tc.rows)
			want := tc.want
			if tc.replay != nil {
				want = tc.replay
			}
			if got := dump(t, c); !maps.Equal(got, want) {
				t.Fatalf("after writing again:\n%q\nwant\n%q", got, want)
			}
			if st := s.Stats(); st.Acked != uint64(2*len(tc.rows)) || st.DeadLettered != 0 || st.Retries != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// hllRaw is the encoding Redis itself gives a HyperLogLog of members.
func hllRaw(t *testing.T, c *goredis.Client, members ...any) string {
	ctx := context.Background()
	if err := c.PFAdd(ctx, "hll:reference", members...).Err(); err != nil {
		t.Fatal(err)
	}
	defer c.Del(ctx, "hll:reference")
	c.PFCount(ctx, "hll:reference")
	return fmt.Sprintf("%x", c.Get(ctx, "hll:reference").Val())
}

func TestTTLIsSetOnceWhenTheKeyIsCreated(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	s := newSink(t, &operators.Env{RedisURL: srv.URL()}, map[string]string{"mode": "set", "key": "k", "member": "m", "ttl": "1h"})
	sinktest.Write(t, s, []*operators.Record{row("m", str("a"))})
	ctx := context.Background()
	if err := c.Expire(ctx, "k", 5*time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	sinktest.Write(t, s, []*operators.Record{row("m", str("b"))})
	if d := c.TTL(ctx, "k").Val(); d > 5*time.Minute || d < 4*time.Minute {
		t.Fatalf("TTL %s: a later write must not extend the expiry set at creation", d)
	}
}

// A row refused with WRONGTYPE wrote nothing, so its key, someone else's,
// must not get the sink's TTL; the key the batch did write gets it.
func TestTTLOnlyOnKeysTheSinkWrote(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	ctx := context.Background()
	if err := c.Set(ctx, "dau:string", "someone else's value", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var dl sinktest.DeadLetters
	s := newSink(t, dl.Env(operators.Env{RedisURL: srv.URL()}), map[string]string{"mode": "set", "key": "dau:{date}", "member": "mid", "ttl": "1h"})
	sinktest.Write(t, s, []*operators.Record{
		row("date,mid", str("string"), str("m1")),
		row("date,mid", str("2026-11-21"), str("m2")),
	})
	want := []string{`q|redis|redis SADD dau:string: WRONGTYPE Operation against a key holding the wrong kind of value|{"date":"string","mid":"m1"}`}
	if dead := dl.Got("query", "sink", "reason", "row"); !slices.Equal(dead, want) {
		t.Fatalf("dead letters\n%q\nwant\n%q", dead, want)
	}
	wantKeys := map[string]string{
		"dau:string":     "string someone else's value no ttl",
		"dau:2026-11-21": "set m2 ttl 1h0m0s",
	}
	if got := dump(t, c); !maps.Equal(got, wantKeys) {
		t.Fatalf("keys\n%q\nwant\n%q", got, wantKeys)
	}
}

func TestRejectedRowsReachTheDeadLetterStream(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	ctx := context.Background()
	if err := c.Set(ctx, "dau:string", "not a set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var dl sinktest.DeadLetters
	s := newSink(t, dl.Env(operators.Env{RedisURL: srv.URL()}), map[string]string{"mode": "set", "key": "dau:{date}", "member": "mid"})
	sinktest.Write(t, s, []*operators.Record{
		row("date,mid", str("2026-11-21"), str("m1")),
		row("date,mid", str("string"), str("m2")),
		row("date,mid", operators.Null(), str("m3")),
		row("date,mid", str("2026-11-21"), operators.Null()),
		row("date,mid", str("2026-11-21"), str("m4")),
		row("date,mid", str("2026-11-21"), operators.RawJSON(`["m5",{"x":1}]`)),
	})
	want := []string{
		`q|redis|key "dau:{date}": column date is NULL or missing|{"date":null,"mid":"m3"}`,
		`q|redis|member "mid": column mid is NULL or missing|{"date":"2026-11-21","mid":null}`,
		`q|redis|member "mid": array element {"x":1} is not a string or number|{"date":"2026-11-21","mid":["m5",{"x":1}]}`,
		`q|redis|redis SADD dau:string: WRONGTYPE Operation against a key holding the wrong kind of value|{"date":"string","mid":"m2"}`,
	}
	if dead := dl.Got("query", "sink", "reason", "row"); !slices.Equal(dead, want) {
		t.Fatalf("dead letters\n%q\nwant\n%q", dead, want)
	}
	if got := c.SMembers(ctx, "dau:2026-11-21").Val(); !slices.Equal(sorted(got), []string{"m1", "m4"}) {
		t.Fatalf("dau:2026-11-21 = %v", got)
	}
	if st := s.Stats(); st.Acked != 2 || st.DeadLettered != 4 {
		t.Fatalf("stats %+v", st)
	}
	if got := s.Counters(); got["dead_lettered"] != 4 || got["acked"] != 2 {
		t.Fatalf("counters %v", got)
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

func TestConfigErrors(t *testing.T) {
	env := &operators.Env{RedisURL: "redis://127.0.0.1:1"}
	p, _ := operators.LookupSink("redis")
	for _, tc := range []struct {
		args    map[string]string
		columns []string
		env     *operators.Env
		want    string
	}{
		{args: map[string]string{"mode": "sets", "key": "k"}, want: `redis sink: mode="sets": want one of set, hll, hash, zset, zincr, list, string, cooccur`},
		{args: map[string]string{"mode": "set", "key": "k"}, want: `redis sink: mode set needs argument member`},
		{args: map[string]string{"mode": "zset", "key": "k", "member": "m"}, want: `redis sink: mode zset needs argument score`},
		{args: map[string]string{"mode": "set", "member": "m"}, want: `redis sink: mode set needs argument key`},
		{args: map[string]string{"mode": "set", "key": "k", "member": "m", "score": "s"}, want: `redis sink: argument score is not used in mode set`},
		{args: map[string]string{"mode": "set", "key": "k", "member": "m", "colour": "red"}, want: `redis sink: unknown argument colour`},
		{args: map[string]string{"mode": "set", "key": "dau:{day}", "member": "mid"}, columns: []string{"date", "mid"},
			want: `redis sink: key: "dau:{day}" names column "day", which the statement does not output (it outputs date, mid)`},
		{args: map[string]string{"mode": "set", "key": "dau:{date}", "member": "device"}, columns: []string{"date", "mid"},
			want: `redis sink: member: "device" names column "device", which the statement does not output (it outputs date, mid)`},
		{args: map[string]string{"mode": "set", "key": "dau:{date", "member": "mid"}, want: `redis sink: key: template "dau:{date": '{' without '}'`},
		{args: map[string]string{"mode": "set", "key": "k", "member": "m", "ttl": "2 days"}, want: `redis sink: ttl="2 days": want whole seconds, at least 1s, such as 48h`},
		{args: map[string]string{"mode": "list", "key": "k", "member": "m", "max_len": "-1"}, want: `redis sink: max_len="-1": want a positive whole number`},
		{args: map[string]string{"mode": "set", "key": "k", "member": "m", "batch": "x"}, want: `redis sink: batch="x": want a positive whole number`},
		{args: map[string]string{"mode": "set", "key": "k", "member": "m"}, env: &operators.Env{}, want: `redis sink: no Redis address (set --redis-url): not configured`},
		{args: map[string]string{"mode": "set", "key": "k", "member": "m"}, env: &operators.Env{RedisURL: "redis://host:port:x"}, want: `redis sink: --redis-url "redis://host:port:x": parse "redis://host:port:x": invalid port ":x" after host`},
	} {
		e := env
		if tc.env != nil {
			e = tc.env
		}
		_, err := p.New(operators.SinkConfig{Query: "q", Args: tc.args, Env: e, Columns: tc.columns})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v\nwant %s", tc.args, err, tc.want)
		}
		if tc.env != nil && tc.env.RedisURL == "" && !errors.Is(err, operators.ErrNotConfigured) {
			t.Errorf("missing URL: %v is not ErrNotConfigured", err)
		}
	}
}

func TestRedisDownBlocksWritesThenRecovers(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	s := newSink(t, &operators.Env{RedisURL: srv.URL()}, map[string]string{
		"mode": "set", "key": "dau:{date}", "member": "mid",
		"batch": "10", "buffer": "50", "flush": "5ms", "backoff": "5ms", "max_backoff": "20ms",
	})
	dauRows := func(from, to int) []*operators.Record {
		var out []*operators.Record
		for i := from; i < to; i++ {
			out = append(out, row("date,mid", str("2026-11-21"), str(fmt.Sprintf("m%03d", i))))
		}
		return out
	}
	sinktest.Write(t, s, dauRows(0, 20))
	if n := c.SCard(context.Background(), "dau:2026-11-21").Val(); n != 20 {
		t.Fatalf("SCARD before the outage = %d, want 20", n)
	}

	srv.Stop()
	done := make(chan error, 1)
	go func() { done <- s.Write(context.Background(), dauRows(20, 120)) }()
	sinktest.Poll(t, "the buffer to fill while Redis is down", func() bool { return s.Stats().Buffered == 50 && s.Stats().Retries > 0 })
	select {
	case err := <-done:
		t.Fatalf("Write returned %v with Redis down and the buffer full", err)
	default:
	}

	srv.Restart() // a crash loses Redis's memory: only rows from here on are checked
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sinktest.Flush(t, s)
	got := sorted(c.SMembers(context.Background(), "dau:2026-11-21").Val())
	var want []string
	for _, r := range dauRows(20, 120) {
		want = append(want, r.Get("mid").S)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after recovery dau:2026-11-21 has %d members %v..., want the 100 written during the outage", len(got), got[:min(5, len(got))])
	}
	if st := s.Stats(); st.Acked != 120 || st.DeadLettered != 0 || st.Buffered != 0 {
		t.Fatalf("stats %+v", st)
	}
}
