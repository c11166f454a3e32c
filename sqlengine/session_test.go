package sqlengine_test

import (
	"context"
	"testing"
	"time"

	"sluice/operators"
	"sluice/sqlengine"
)

// The tagging form and the SESSION window agree on session ids, so tagged
// events join with session rows.
func TestSessionIDsAgree(t *testing.T) {
	specs, err := sqlengine.Compile(`
@Name("tag") @EventTime(column="ts") @Session(key="user_id", gap="30m")
SELECT user_id, session_id() AS sid, session_seq() AS seq FROM clicks;
@Name("win") @EventTime(column="ts")
SELECT user_id FROM clicks GROUP BY SESSION(ts, INTERVAL 30 MINUTE), user_id`)
	if err != nil {
		t.Fatal(err)
	}
	batch := []*operators.Record{
		{Raw: []byte(`{"ts": 5, "user_id": "u1"}`)},
		{Raw: []byte(`{"ts": 7, "user_id": "u1"}`)},
		{Raw: []byte(`{"ts": 9000000, "user_id": "u1"}`)},
	}
	var tagged, starts []string
	specs[0].Build(&operators.Counters{}).Process(batch, func(rows []*operators.Record) {
		for _, r := range rows {
			tagged = append(tagged, r.Get("sid").Text())
		}
	})
	win := specs[1].Build(&operators.Counters{})
	win.Process(batch, func(rows []*operators.Record) {
		for _, r := range rows {
			if r.Get("event").Text() == "start" {
				starts = append(starts, r.Get("session_id").Text())
			}
		}
	})
	want0 := operators.SessionID([]operators.Value{operators.Str("u1")}, 5)
	want1 := operators.SessionID([]operators.Value{operators.Str("u1")}, 9000000)
	if len(tagged) != 3 || tagged[0] != want0 || tagged[1] != want0 || tagged[2] != want1 {
		t.Errorf("tagged ids %v, want [%s %s %s]", tagged, want0, want0, want1)
	}
	if len(starts) != 2 || starts[0] != want0 || starts[1] != want1 {
		t.Errorf("session start ids %v, want [%s %s]", starts, want0, want1)
	}
}

// Replacing a @Session tagging statement by one of the same state shape
// keeps its open sessions: the next event of a session keeps its id and
// numbers on. Another shape starts fresh.
func TestReplaceSessionTaggingKeepsSessions(t *testing.T) {
	const tagging = `@Name("t") @EventTime(column="ts", lateness="5s") @Session(key="u", gap="30m")
SELECT *, session_id() AS sid, session_seq() AS seq FROM s`
	first := operators.SessionID([]operators.Value{operators.Str("a")}, 1000)
	second := operators.SessionID([]operators.Value{operators.Str("a")}, 2000)
	for _, c := range []struct {
		name     string
		replace  string
		wantKept bool
		wantSid  string
		wantSeq  int64
	}{
		{"same statement", tagging, true, first, 2},
		{"same shape, other text", `@Name("t") @Description("renamed") @EventTime(column="ts", lateness="5s") @Session(key="u", gap="30m")
SELECT *, session_id() AS sid, session_seq() AS seq FROM s WHERE TRUE`, true, first, 2},
		{"other gap", `@Name("t") @EventTime(column="ts", lateness="5s") @Session(key="u", gap="10m")
SELECT *, session_id() AS sid, session_seq() AS seq FROM s`, false, second, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt := operators.NewRuntime(operators.RuntimeConfig{})
			defer rt.Close()
			if _, err := rt.Deploy(compileOne(t, tagging)); err != nil {
				t.Fatal(err)
			}
			ingest := func(raw string) {
				t.Helper()
				if err := rt.Ingest("s", []*operators.Record{{Raw: []byte(raw)}}); err != nil {
					t.Fatal(err)
				}
			}
			ingest(`{"ts":1000,"u":"a"}`)
			_, kept, err := rt.Replace(compileOne(t, c.replace))
			if err != nil || kept != c.wantKept {
				t.Fatalf("replace: kept %v, err %v; want kept %v", kept, err, c.wantKept)
			}
			ingest(`{"ts":2000,"u":"a"}`)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := rt.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			rows := rt.Recent("t")
			if len(rows) != 2 {
				t.Fatalf("%d rows, want 2", len(rows))
			}
			if sid, seq := rows[0].Get("sid").Text(), rows[0].Get("seq").I; sid != first || seq != 1 {
				t.Errorf("first event: sid %s seq %d, want %s 1", sid, seq, first)
			}
			if sid, seq := rows[1].Get("sid").Text(), rows[1].Get("seq").I; sid != c.wantSid || seq != c.wantSeq {
				t.Errorf("after the replace: sid %s seq %d, want %s %d", sid, seq, c.wantSid, c.wantSeq)
			}
		})
	}
}
