package sqlengine_test

import (
	"testing"

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
