package sqlengine_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"sluice/operators"
)

// TestSessionsMatchReference runs sessions with a gap and a longest
// duration over random clicks of interleaved users, in batches of random
// size, and compares every start and end row with sessions cut here the
// plain way: per user in time order, a click more than the gap after the
// previous one, or the longest duration or more after the session's first,
// starts a new session. Each session has one start and one end row under
// one session_id.
func TestSessionsMatchReference(t *testing.T) {
	const (
		gap     = 30 * 60 * 1000
		longest = 2 * 60 * 60 * 1000
	)
	const sql = `@Name("s")
@EventTime(column="ts", lateness="0s")
SELECT user_id, COUNT(*) AS views, FIRST(page) AS landing, LAST(page) AS exit, COUNT(DISTINCT page) AS pages, SUM(v) AS total
FROM clicks
GROUP BY SESSION(ts, INTERVAL 30 MINUTE, INTERVAL 2 HOUR), user_id`
	for seed := range uint64(5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			clicks := randomClicks(rand.New(rand.NewPCG(seed, 11)), 3000, gap, longest)
			spec := compileOne(t, sql)
			raws := make([][]byte, len(clicks))
			for i, c := range clicks {
				raws[i] = fmt.Appendf(nil, `{"ts":%d,"user_id":%q,"page":%q,"v":%d}`, c.ts, c.user, c.page, c.v)
			}
			rows := feedRandomBatches(spec.Build(&operators.Counters{}), raws, rand.New(rand.NewPCG(seed, 12)), 200)
			var got []string
			ids := map[string][]string{} // session_id → its rows' events
			for _, m := range rowMaps(t, rows) {
				id, _ := m["session_id"].(string)
				ids[id] = append(ids[id], m["event"].(string))
				delete(m, "session_id")
				delete(m, "_key")
				b, _ := json.Marshal(m)
				got = append(got, string(b))
			}
			want := sessionReference(clicks, gap, longest)
			slices.Sort(got)
			if d := rowDiff(got, want); d != "" {
				t.Fatal(d)
			}
			for id, events := range ids {
				if id == "" || !slices.Equal(events, []string{"start", "end"}) {
					t.Fatalf("session %q has rows %v, want one start then one end", id, events)
				}
			}
		})
	}
}

type click struct {
	ts         int64
	user, page string
	v          int64
}

// randomClicks are in event-time order. No click falls exactly on a gap
// or longest-duration boundary of its user: which side an equal time
// takes is pinned by the golden scripts, not here.
func randomClicks(rng *rand.Rand, n int, gap, longest int64) []click {
	last, first := map[string]int64{}, map[string]int64{}
	out := make([]click, 0, n)
	var ts int64
	for len(out) < n {
		ts += rng.Int64N(120_000)
		user := fmt.Sprint("u", rng.IntN(25))
		if l, ok := last[user]; ok {
			d := ts - l
			if d == gap || ts-first[user] == longest {
				continue
			}
			if d > gap || ts-first[user] > longest {
				first[user] = ts
			}
		} else {
			first[user] = ts
		}
		last[user] = ts
		out = append(out, click{ts: ts, user: user, page: fmt.Sprint("/p", rng.IntN(8)), v: rng.Int64N(100)})
	}
	return out
}

// sessionReference is the statement's rows, computed naively and rendered
// like the statement's (without session_id), sorted.
func sessionReference(clicks []click, gap, longest int64) []string {
	type session struct {
		started, last, views, total int64
		landing, exit               string
		pages                       map[string]bool
	}
	var out []string
	row := func(user string, s *session, end bool) {
		m := map[string]any{
			"event": "start", "started": s.started, "ended": nil, "duration_s": 0, "events": s.views,
			"user_id": user, "views": s.views, "landing": s.landing, "exit": s.exit,
			"pages": len(s.pages), "total": s.total,
		}
		if end {
			m["event"], m["ended"], m["duration_s"] = "end", s.last, float64(s.last-s.started)/1000
		}
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	open := map[string]*session{}
	for _, c := range clicks {
		s := open[c.user]
		if s != nil && (c.ts-s.last > gap || c.ts-s.started >= longest) {
			row(c.user, s, true)
			s = nil
		}
		if s == nil {
			s = &session{started: c.ts, landing: c.page, pages: map[string]bool{}}
			open[c.user] = s
		}
		s.last, s.exit = c.ts, c.page
		s.views++
		s.total += c.v
		s.pages[c.page] = true
		if s.views == 1 {
			row(c.user, s, false)
		}
	}
	for user, s := range open {
		row(user, s, true)
	}
	slices.Sort(out)
	return out
}

// TestSessionTagsMatchReference tags random clicks, in batches of random
// size, and compares each event's session_seq with sessions cut naively;
// session_id must name exactly the naive sessions (one id per session, no
// id shared between two).
func TestSessionTagsMatchReference(t *testing.T) {
	const gap, longest = 30 * 60 * 1000, 2 * 60 * 60 * 1000
	spec := compileOne(t, `@EventTime(column="ts", lateness="0s")
@Session(key="user_id", gap="30m", max_duration="2h")
SELECT user_id, ts, session_id() AS sid, session_seq() AS seq FROM clicks`)
	for seed := range uint64(5) {
		clicks := randomClicks(rand.New(rand.NewPCG(seed, 41)), 3000, gap, longest)
		raws := make([][]byte, len(clicks))
		for i, c := range clicks {
			raws[i] = fmt.Appendf(nil, `{"ts":%d,"user_id":%q}`, c.ts, c.user)
		}
		got := rowMaps(t, feedRandomBatches(spec.Build(&operators.Counters{}), raws, rand.New(rand.NewPCG(seed, 42)), 200))
		if len(got) != len(clicks) {
			t.Fatalf("seed %d: %d rows for %d clicks", seed, len(got), len(clicks))
		}
		type open struct{ n, started, last, seq int64 }
		sessions := map[string]*open{}
		idOf := map[int64]string{} // naive session number → its id
		seen := map[string]int64{}
		var count int64
		for i, c := range clicks {
			s := sessions[c.user]
			if s == nil || c.ts-s.last > gap || c.ts-s.started >= longest {
				count++
				s = &open{n: count, started: c.ts}
				sessions[c.user] = s
			}
			s.last = c.ts
			s.seq++
			row := got[i]
			sid, _ := row["sid"].(string)
			if row["user_id"] != c.user || row["ts"] != float64(c.ts) || row["seq"] != float64(s.seq) {
				t.Fatalf("seed %d, click %d (%+v): row %v, want seq %d", seed, i, c, row, s.seq)
			}
			if id, ok := idOf[s.n]; ok && id != sid {
				t.Fatalf("seed %d, click %d: session %d has ids %s and %s", seed, i, s.n, id, sid)
			}
			if n, ok := seen[sid]; ok && n != s.n {
				t.Fatalf("seed %d, click %d: id %s names sessions %d and %d", seed, i, sid, n, s.n)
			}
			idOf[s.n], seen[sid] = sid, s.n
		}
	}
}
