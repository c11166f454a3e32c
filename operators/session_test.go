package operators

import (
	"fmt"
	"strings"
	"testing"
)

// userSessions are sessions of field u with a gap of 10 s, at most max
// open, projecting u.
func userSessions(max int) (*Sessions, *Counters) {
	c := &Counters{}
	slot := func(i int) Expr { return func(row []Value) Value { return row[i] } }
	return &Sessions{
		KeyedInput: KeyedInput{
			Extract:   NewExtractor([][]string{{"ts"}, {"u"}}),
			EventTime: slot(0),
			Keys:      []Expr{slot(1)},
			Counters:  c,
		},
		Lateness:    60_000,
		Gap:         10_000,
		Columns:     []string{"u"},
		Project:     []Expr{slot(0)},
		MaxSessions: max,
	}, c
}

func sessionEvents(evs ...string) []*Record {
	out := make([]*Record, len(evs))
	for i, e := range evs {
		ts, u, _ := strings.Cut(e, ":")
		out[i] = &Record{Raw: []byte(`{"ts":` + ts + `,"u":"` + u + `"}`)}
	}
	return out
}

// Past MaxSessions, the session whose deadline is nearest closes early,
// by its current deadline: u1's later event moved its deadline past u2's.
func TestSessionEvictionTakesNearestDeadline(t *testing.T) {
	a, c := userSessions(2)
	var rows []string
	emit := func(rs []*Record) {
		for _, r := range rs {
			rows = append(rows, r.Get("u").Text()+" "+r.Get("event").Text()+" "+r.Get("ended").Text())
			if id, want := r.Get("session_id").Text(), SessionID([]Value{r.Get("u")}, r.Get("started").I); id != want {
				t.Errorf("%s: session_id %s, want SessionID(u, started) = %s", r, id, want)
			}
		}
	}
	a.Process(sessionEvents("0:u1", "1000:u2", "2000:u1", "3000:u3"), emit)
	a.Finish(emit)
	want := []string{"u1 start ", "u2 start ", "u2 end 1000", "u3 start ", "u1 end 2000", "u3 end 3000"}
	if strings.Join(rows, "|") != strings.Join(want, "|") {
		t.Errorf("rows\n%q\nwant\n%q", rows, want)
	}
	if e := c.Evictions.Load(); e != 1 {
		t.Errorf("evictions = %d, want 1", e)
	}
	if n := a.StateSize(); n != 0 {
		t.Errorf("%d sessions open after Finish", n)
	}
}

// A start row carries its event's arrival; an end row the latest arrival
// the statement had seen, WHERE or not, as windowed aggregates' rows do.
func TestSessionRowsCarryLatestArrival(t *testing.T) {
	a, _ := userSessions(10)
	a.Where = func(row []Value) Value { return Bool(row[1].S != "bot") }
	evs := sessionEvents("0:u1", "1000:bot")
	evs[0].Arrival, evs[1].Arrival = 100, 200
	var arrivals []int64
	emit := func(rs []*Record) {
		for _, r := range rs {
			arrivals = append(arrivals, r.Arrival)
		}
	}
	a.Process(evs, emit)
	a.Finish(emit)
	if len(arrivals) != 2 || arrivals[0] != 100 || arrivals[1] != 200 {
		t.Fatalf("start and end rows stamped %v, want [100 200]", arrivals)
	}
}

// An event earlier than its session's start moves a longest duration's
// deadline earlier: the session closes by that deadline, before a session
// whose deadline lies between the old and the new one, and a snapshot
// holds it once.
func TestSessionDeadlineMovedEarlierCloses(t *testing.T) {
	a, _ := userSessions(0)
	a.Lateness, a.MaxDuration = 15_000, 40_000
	var rows []string
	emit := func(rs []*Record) {
		for _, r := range rs {
			rows = append(rows, r.Get("u").Text()+" "+r.Get("event").Text())
		}
	}
	// A runs from 100 s to 130 s: its deadline is 140 s (the watermark,
	// 115 s, moves its queued one there), then the late event at 95 s
	// moves it to 135 s. B's is 129 s + 10 s = 139 s.
	a.Process(sessionEvents("100000:A", "105000:A", "110000:A", "115000:A", "120000:A", "125000:A", "129000:B", "130000:A"), emit)
	a.Process(sessionEvents("95000:A"), emit)
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored, _ := userSessions(0)
	restored.Lateness, restored.MaxDuration = 15_000, 40_000
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if n := restored.StateSize(); n != 2 {
		t.Errorf("%d sessions restored, want 2", n)
	}
	rows = nil
	a.Process(sessionEvents("151000:C"), emit) // watermark 136 s
	if want := "C start|A end"; strings.Join(rows, "|") != want {
		t.Errorf("rows %q, want %s: A's deadline 135 s has passed, B's 139 s has not", rows, want)
	}
}

// An event earlier than its key's open session joins it only within the
// gap before its first event and within the longest duration; earlier, it
// belongs to a session that gave way to the open one, and is late.
func TestSessionEarlierEvent(t *testing.T) {
	for _, c := range []struct {
		name     string
		maxDur   int64
		batches  [][]string
		want     string // started-ended/events of each end row
		wantLate uint64
	}{
		{"within the gap before the start joins", 0, [][]string{{"50000:u"}, {"41000:u"}}, "41000-50000/2", 0},
		{"the gap before the start is late", 0, [][]string{{"50000:u"}, {"40000:u"}, {"0:u"}}, "50000-50000/1", 2},
		{"past the longest duration is late", 40_000,
			[][]string{{"100000:u"}, {"109000:u", "118000:u", "127000:u", "136000:u"}, {"97000:u"}, {"96000:u"}}, "97000-136000/6", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, counters := userSessions(0)
			a.MaxDuration = c.maxDur
			var ends []string
			emit := func(rs []*Record) {
				for _, r := range rs {
					if r.Get("event").Text() == "end" {
						ends = append(ends, fmt.Sprintf("%d-%d/%d", r.Get("started").I, r.Get("ended").I, r.Get("events").I))
					}
				}
			}
			for _, b := range c.batches {
				a.Process(sessionEvents(b...), emit)
			}
			a.Finish(emit)
			if got := strings.Join(ends, " "); got != c.want {
				t.Errorf("sessions %s, want %s", got, c.want)
			}
			if late := counters.Late.Load(); late != c.wantLate {
				t.Errorf("late = %d, want %d", late, c.wantLate)
			}
		})
	}
}
