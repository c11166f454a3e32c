package operators

import (
	"strings"
	"testing"
)

// rowsOf renders rows as their JSON, one string.
func rowsOf(rows *[]string) Emit {
	return func(rs []*Record) {
		for _, r := range rs {
			*rows = append(*rows, r.String())
		}
	}
}

// A restored aggregate emits what the one it was saved from emits, kept
// windows and grouping sets included.
func TestAggregateSnapshotRoundTrip(t *testing.T) {
	batch := func(evs ...string) []*Record {
		var out []*Record
		for _, e := range evs {
			out = append(out, &Record{Arrival: 5, Raw: []byte(e)})
		}
		return out
	}
	saved, _ := cubeCount(0)
	saved.LateFor = 60_000
	var discard []string
	saved.Process(batch(`{"ts":1000,"a":"x","b":1}`, `{"ts":2000,"a":"y","b":2}`, `{"ts":12000,"a":"x","b":2}`, `{"ts":25000,"a":"x","b":1}`), rowsOf(&discard))
	if len(saved.kept) == 0 || len(saved.windows) == 0 {
		t.Fatalf("want kept and open windows, have %d and %d", len(saved.kept), len(saved.windows))
	}
	b, err := saved.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored, _ := cubeCount(0)
	restored.LateFor = 60_000
	if err := restored.Restore(b); err != nil {
		t.Fatal(err)
	}
	if restored.StateSize() != saved.StateSize() {
		t.Errorf("restored %d groups, saved %d", restored.StateSize(), saved.StateSize())
	}
	var want, got []string
	for _, run := range []struct {
		a    *Aggregate
		rows *[]string
	}{{saved, &want}, {restored, &got}} {
		run.a.Process(batch(`{"ts":3000,"a":"x","b":1}`, `{"ts":26000,"a":"z","b":3}`), rowsOf(run.rows))
		run.a.Finish(rowsOf(run.rows))
	}
	if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("restored emits\n%s\nsaved emits\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := restored.Restore(b[:len(b)-1]); err == nil {
		t.Error("a truncated snapshot restored")
	}
}

// Restored sessions close as the saved ones do.
func TestSessionsSnapshotRoundTrip(t *testing.T) {
	saved, _ := userSessions(10)
	var discard []string
	saved.Process(sessionEvents("0:u1", "1000:u2", "2000:u1"), rowsOf(&discard))
	b, err := saved.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored, _ := userSessions(10)
	if err := restored.Restore(b); err != nil {
		t.Fatal(err)
	}
	if restored.StateSize() != 2 {
		t.Errorf("restored %d sessions, want 2", restored.StateSize())
	}
	var want, got []string
	for _, run := range []struct {
		a    *Sessions
		rows *[]string
	}{{saved, &want}, {restored, &got}} {
		run.a.Process(sessionEvents("5000:u2", "30000:u3"), rowsOf(run.rows))
		run.a.Finish(rowsOf(run.rows))
	}
	if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("restored emits\n%s\nsaved emits\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Restored session tags continue their sessions' sequence numbers.
func TestSessionTagsSnapshotRoundTrip(t *testing.T) {
	tagged := func() *Map {
		slot := func(i int) Expr { return func(row []Value) Value { return row[i] } }
		return &Map{
			Extract:  NewExtractor([][]string{{"ts"}, {"u"}}),
			Columns:  []string{"u", "sid", "seq"},
			Project:  []Expr{slot(1), slot(2), slot(3)},
			Sessions: &SessionTagger{Keys: []Expr{slot(1)}, EventTime: slot(0), Gap: 10_000, Counters: &Counters{}},
		}
	}
	saved := tagged()
	var first []string
	saved.Process(sessionEvents("0:u1", "1000:u1"), rowsOf(&first))
	b, err := saved.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := tagged()
	if err := restored.Restore(b); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	saved.Process(sessionEvents("2000:u1"), rowsOf(&want))
	restored.Process(sessionEvents("2000:u1"), rowsOf(&got))
	if len(got) != 1 || got[0] != want[0] || !strings.Contains(got[0], `"seq":3`) {
		t.Errorf("restored tags %v, saved tags %v; want seq 3", got, want)
	}
	if id := SessionID([]Value{Str("u1")}, 0); !strings.Contains(first[0], `"sid":"`+id+`"`) {
		t.Errorf("tagged %s, want session id SessionID(u1, 0) = %s", first[0], id)
	}
}
