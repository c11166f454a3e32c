package redis

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"sluice/operators"
	"sluice/plugins/sinks/redis/redistest"
	"sluice/plugins/sinks/sinktest"
)

// ratings are two sessions' rated clicks, in arrival order.
func ratings() []*operators.Record {
	const cols = "user_id,session_id,session_seq,item_id,weight"
	r := func(user, session string, seq int64, item string, weight int64) *operators.Record {
		return row(cols, str(user), str(session), num(seq), str(item), num(weight))
	}
	return []*operators.Record{
		r("u1", "s1", 1, "A", 1),
		r("u1", "s1", 2, "B", 1),
		r("u1", "s1", 3, "C", 3),
		r("u1", "s1", 4, "A", 5),
		r("u2", "s2", 1, "B", 1),
		r("u2", "s2", 2, "D", 1),
		r("u2", "s2", 3, "D", 3),
	}
}

var cooccurArgs = map[string]string{
	"mode": "cooccur", "key": "sess:{session_id}", "id": "{session_seq}", "member": "item_id", "score": "weight",
	"max_len": "2", "ttl": "1h", "rec": "rec:{user_id}", "rec_len": "2",
}

// The state after ratings(), worked out by hand one rating at a time:
//
//	s1 A/1: nothing recent.                    sess:s1 [A]
//	s1 B/1: sim:B A+1, sim:A B+1.              sess:s1 [B A]   rec:u1 top(sim:B)=[A] → [A]
//	s1 C/3: sim:C B+3 A+3, sim:B C+3, sim:A C+3.
//	                                           sess:s1 [C B]   top(sim:C)=[B A] (tie: B sorts last) → [B A]
//	s1 A/5: sim:A C+5 B+5, sim:C A+5, sim:B A+5.
//	                                           sess:s1 [A C]   top(sim:A)=[C:8 B:6] → [C B A] → [C B]
//	s2 B/1: nothing recent.                    sess:s2 [B]     top(sim:B)=[A:6 C:3] → [A C]
//	s2 D/1: sim:D B+1, sim:B D+1.              sess:s2 [D B]   top(sim:D)=[B] → [B A C] → [B A]
//	s2 D/3: sim:D B+3, sim:B D+3 (D itself is skipped).
//	                                           sess:s2 [D B]   top(sim:D)=[B] → [B A]
var cooccurState = map[string]string{
	"sim:A":        "zset B:6;C:8; no ttl",
	"sim:B":        "zset C:3;D:4;A:6; no ttl",
	"sim:C":        "zset B:3;A:8; no ttl",
	"sim:D":        "zset B:4; no ttl",
	"sess:s1":      "list A,C ttl 1h0m0s",
	"sess:s1:seen": "set 1,2,3,4 ttl 1h0m0s",
	"sess:s2":      "list D,B ttl 1h0m0s",
	"sess:s2:seen": "set 1,2,3 ttl 1h0m0s",
	"rec:u1":       "list C,B no ttl",
	"rec:u2":       "list B,A no ttl",
}

func TestCooccurScoresRecommendsAndIgnoresReplays(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	s := newSink(t, &operators.Env{RedisURL: srv.URL()}, cooccurArgs)
	sinktest.Write(t, s, ratings())
	if got := dump(t, c); !maps.Equal(got, cooccurState) {
		t.Fatalf("after the ratings:\n%q\nwant\n%q", got, cooccurState)
	}
	// A replay, one rating per round trip this time.
	for _, r := range ratings() {
		sinktest.Write(t, s, []*operators.Record{r})
	}
	if got := dump(t, c); !maps.Equal(got, cooccurState) {
		t.Fatalf("after a replay:\n%q\nwant\n%q", got, cooccurState)
	}
	if st := s.Stats(); st.Acked != 14 || st.DeadLettered != 0 || st.Retries != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Without rec, only co-occurrence is kept; rec_top bounds what one rating
// pushes.
func TestCooccurOptionalRecommendations(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	ctx := context.Background()
	env := &operators.Env{RedisURL: srv.URL()}
	args := maps.Clone(cooccurArgs)
	delete(args, "rec")
	delete(args, "rec_len")
	args["sim"] = "shop1:sim:"
	sinktest.Write(t, newSink(t, env, args), ratings())
	keys := c.Keys(ctx, "*").Val()
	slices.Sort(keys)
	want := []string{"sess:s1", "sess:s1:seen", "sess:s2", "sess:s2:seen", "shop1:sim:A", "shop1:sim:B", "shop1:sim:C", "shop1:sim:D"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}

	c.FlushAll(ctx)
	args = maps.Clone(cooccurArgs)
	args["rec_top"] = "1"
	delete(args, "rec_len")
	sinktest.Write(t, newSink(t, env, args), ratings())
	// Each rating pushes only its best match: A, B, C, A, B, B.
	if got := c.LRange(ctx, "rec:u1", 0, -1).Val(); !slices.Equal(got, []string{"C", "B", "A"}) {
		t.Fatalf("rec:u1 = %q", got)
	}
	if got := c.LRange(ctx, "rec:u2", 0, -1).Val(); !slices.Equal(got, []string{"B", "A"}) {
		t.Fatalf("rec:u2 = %q", got)
	}
}

// Redis forgets scripts when it restarts or is told to: the rows are sent
// again once the script is loaded again, and applied once.
func TestCooccurReloadsALostScript(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	ctx := context.Background()
	s := newSink(t, &operators.Env{RedisURL: srv.URL()}, cooccurArgs)
	all := ratings()
	sinktest.Write(t, s, all[:2])
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	sinktest.Write(t, s, all[2:])
	if got := dump(t, c); !maps.Equal(got, cooccurState) {
		t.Fatalf("after a lost script:\n%q\nwant\n%q", got, cooccurState)
	}
	if st := s.Stats(); st.Acked != 7 || st.DeadLettered != 0 || st.Retries != 1 {
		t.Fatalf("stats %+v, want one retry", st)
	}
}

func TestCooccurRejectsRowsItCannotWrite(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	ctx := context.Background()
	if err := c.Set(ctx, "sim:B", "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var dl sinktest.DeadLetters
	args := maps.Clone(cooccurArgs)
	delete(args, "ttl")
	s := newSink(t, dl.Env(operators.Env{RedisURL: srv.URL()}), args)
	const cols = "user_id,session_id,session_seq,item_id,weight"
	sinktest.Write(t, s, []*operators.Record{
		row(cols, str("u1"), str("s1"), num(1), str("A"), num(1)),
		row(cols, str("u1"), str("s1"), operators.Null(), str("B"), num(1)),
		row(cols, str("u1"), str("s1"), num(3), str("B"), str("lots")),
		row(cols, str("u1"), str("s1"), num(4), str("B"), operators.Float(math.Inf(1))),
		row(cols, operators.Null(), str("s1"), num(5), str("B"), num(1)),
		row(cols, str("u1"), str("s1"), num(6), str("B"), num(1)),
	})
	want := []string{
		`q|redis|id "{session_seq}": column session_seq is NULL or missing|{"user_id":"u1","session_id":"s1","session_seq":null,"item_id":"B","weight":1}`,
		`q|redis|score "weight": "lots" is not a number|{"user_id":"u1","session_id":"s1","session_seq":3,"item_id":"B","weight":"lots"}`,
		`q|redis|score "weight": +Inf is not a finite number|{"user_id":"u1","session_id":"s1","session_seq":4,"item_id":"B","weight":null}`,
		`q|redis|rec "rec:{user_id}": column user_id is NULL or missing|{"user_id":null,"session_id":"s1","session_seq":5,"item_id":"B","weight":1}`,
	}
	got := dl.Got("query", "sink", "reason", "row")
	if len(got) != 5 || !slices.Equal(got[:4], want) || !strings.HasPrefix(got[4], `q|redis|redis EVALSHA sess:s1: WRONGTYPE`) {
		t.Fatalf("dead letters\n%q\nwant\n%q\nand a WRONGTYPE for seq 6", got, want)
	}
	if st := s.Stats(); st.Acked != 1 || st.DeadLettered != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// Redis does not roll a script back: a rating refused with WRONGTYPE must
// write nothing, not even its id to the seen set, so that replaying its
// dead letter once the key is fixed applies it in full.
func TestCooccurWrongTypeWritesNothingAndReplays(t *testing.T) {
	srv := redistest.NewServer(t)
	c := client(t, srv.Addr())
	ctx := context.Background()
	if err := c.Set(ctx, "sim:A", "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var dl sinktest.DeadLetters
	args := map[string]string{"mode": "cooccur", "key": "sess:{session_id}", "id": "{session_seq}", "member": "item_id", "score": "weight"}
	s := newSink(t, dl.Env(operators.Env{RedisURL: srv.URL()}), args)
	const cols = "session_id,session_seq,item_id,weight"
	rows := []*operators.Record{
		row(cols, str("s1"), num(1), str("A"), num(1)),
		row(cols, str("s1"), num(2), str("B"), num(1)), // sim:B would be written before sim:A
	}
	sinktest.Write(t, s, rows)
	wantDead := []string{`q|redis|redis EVALSHA sess:s1: WRONGTYPE sim:A holds the wrong kind of value; nothing written|{"session_id":"s1","session_seq":2,"item_id":"B","weight":1}`}
	if dead := dl.Got("query", "sink", "reason", "row"); !slices.Equal(dead, wantDead) {
		t.Fatalf("dead letters\n%q\nwant\n%q", dead, wantDead)
	}
	want := map[string]string{
		"sim:A":        "string not a sorted set no ttl",
		"sess:s1":      "list A no ttl",
		"sess:s1:seen": "set 1 no ttl",
	}
	if got := dump(t, c); !maps.Equal(got, want) {
		t.Fatalf("after the refused rating:\n%q\nwant\n%q", got, want)
	}
	// The operator fixes the key and replays the dead letter.
	if err := c.Del(ctx, "sim:A").Err(); err != nil {
		t.Fatal(err)
	}
	sinktest.Write(t, s, rows[1:])
	want = map[string]string{
		"sim:A":        "zset B:1; no ttl",
		"sim:B":        "zset A:1; no ttl",
		"sess:s1":      "list B,A no ttl",
		"sess:s1:seen": "set 1,2 no ttl",
	}
	if got := dump(t, c); !maps.Equal(got, want) {
		t.Fatalf("after the replay:\n%q\nwant\n%q", got, want)
	}
	if st := s.Stats(); st.Acked != 2 || st.DeadLettered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCooccurConfigErrors(t *testing.T) {
	env := &operators.Env{RedisURL: "redis://127.0.0.1:1"}
	p, _ := operators.LookupSink("redis")
	cols := []string{"user_id", "session_id", "session_seq", "item_id", "weight"}
	with := func(changes ...string) map[string]string {
		a := maps.Clone(cooccurArgs)
		for i := 0; i < len(changes); i += 2 {
			if changes[i+1] == "" {
				delete(a, changes[i])
			} else {
				a[changes[i]] = changes[i+1]
			}
		}
		return a
	}
	for _, tc := range []struct {
		args map[string]string
		want string
	}{
		{with("id", ""), `redis sink: mode cooccur needs argument id`},
		{with("score", ""), `redis sink: mode cooccur needs argument score`},
		{with("rec", ""), `redis sink: argument rec_len needs argument rec`},
		{with("rec_top", "0"), `redis sink: rec_top="0": want a whole number from 1 to 1000`},
		{with("rec_len", "x"), `redis sink: rec_len="x": want a whole number from 1 to 1000`},
		{with("rec_len", "1001"), `redis sink: rec_len="1001": want a whole number from 1 to 1000`},
		{with("rec", "rec:{user}"), `redis sink: rec: "rec:{user}" names column "user", which the statement does not output (it outputs user_id, session_id, session_seq, item_id, weight)`},
		{with("id", "seq"), `redis sink: id: "seq" names column "seq", which the statement does not output (it outputs user_id, session_id, session_seq, item_id, weight)`},
		{with("field", "f"), `redis sink: argument field is not used in mode cooccur`},
		{map[string]string{"mode": "set", "key": "k", "member": "m", "rec": "r"}, `redis sink: argument rec is not used in mode set`},
	} {
		_, err := p.New(operators.SinkConfig{Query: "q", Args: tc.args, Env: env, Columns: cols})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v\nwant %s", tc.args, err, tc.want)
		}
	}
}

// BenchmarkCooccurPipelined is the recommendation path: one EVALSHA per
// rating, 1000 per pipelined round trip, in sessions of 8 ratings over a
// catalogue of 1000 items, with rec lists.
func BenchmarkCooccurPipelined(b *testing.B) {
	srv := redistest.NewServer(b)
	args := maps.Clone(cooccurArgs)
	args["batch"], args["max_len"], args["rec_len"] = "1000", "20", "20"
	s := newSink(b, &operators.Env{RedisURL: srv.URL()}, args)
	schema := operators.NewSchema("user_id", "session_id", "session_seq", "item_id", "weight")
	rows := make([]*operators.Record, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for written := 0; written < b.N; written += len(rows) {
		n := min(len(rows), b.N-written)
		for i := range n {
			e := written + i
			rows[i] = &operators.Record{Schema: schema, Values: []operators.Value{
				operators.Str(fmt.Sprintf("u%d", e/8%5000)), operators.Str(fmt.Sprintf("s%d", e/8)), operators.Int(int64(e%8 + 1)),
				operators.Str(fmt.Sprintf("i%d", (e*7919)%1000)), operators.Int(1),
			}}
		}
		if err := s.Write(ctx, rows[:n]); err != nil {
			b.Fatal(err)
		}
	}
	sinktest.Flush(b, s)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
