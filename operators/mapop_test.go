package operators

import (
	"slices"
	"testing"
)

// SELECT *, x keeps the input's named values that x does not redefine,
// for inputs of alternating schemas.
func TestMapStarOverlay(t *testing.T) {
	m := &Map{
		Extract: NewExtractor([][]string{{"n"}}),
		Star:    true,
		Columns: []string{"x"},
		Project: []Expr{func(row []Value) Value {
			n, _ := row[0].Num()
			return Float(n * 2)
		}},
	}
	ax := NewSchema("a", "x")
	b := NewSchema("b")
	in := []*Record{
		{Raw: []byte(`{"n":1}`), Schema: ax, Values: []Value{Str("a1"), Str("old")}},
		{Raw: []byte(`{"n":2}`), Schema: b, Values: []Value{Int(7)}},
		{Raw: []byte(`{"n":3}`)},
		{Raw: []byte(`{"n":4}`), Schema: ax, Values: []Value{Str("a4"), Str("old")}},
	}
	want := []string{
		`{"n":1,"a":"a1","x":2}`,
		`{"n":2,"b":7,"x":4}`,
		`{"n":3,"x":6}`,
		`{"n":4,"a":"a4","x":8}`,
	}
	var got []*Record
	m.Process(in, func(rs []*Record) { got = append(got, rs...) })
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.String() != want[i] {
			t.Errorf("row %d = %s, want %s", i, r, want[i])
		}
	}
	if got[0].Schema != got[3].Schema {
		t.Error("inputs of one schema got different output schemas")
	}
}

// A WHERE that keeps few rows allocates room for about as many as the last
// batch kept, not for the whole batch; when more pass than predicted the
// room doubles; every kept row comes out.
func TestMapSelectiveWhereAllocatesForWhatPasses(t *testing.T) {
	m := &Map{
		Extract: NewExtractor([][]string{{"n"}}),
		Where:   func(row []Value) Value { return Bool(row[0].I%100 == 0 || row[0].I >= 10_000) },
		Columns: []string{"n"},
		Project: []Expr{func(row []Value) Value { return row[0] }},
	}
	batch := func(from, n int) []*Record {
		var b []*Record
		for i := from; i < from+n; i++ {
			b = append(b, &Record{Raw: []byte(`{"n":` + itoa(i) + `}`)})
		}
		return b
	}
	var got []int64
	emit := func(rs []*Record) {
		for _, r := range rs {
			got = append(got, r.Get("n").I)
		}
	}
	m.Process(batch(0, 1000), emit) // no history: room for every row
	m.Process(batch(1000, 1000), emit)
	if c := cap(m.recs); c > 100 {
		t.Errorf("room for %d records after a batch that kept 10 of 1000", c)
	}
	m.Process(batch(10_000, 1000), emit) // every row passes: room for 80, 160, 320, 440
	if c := cap(m.recs); c != 440 {
		t.Errorf("last room for %d records, want 440 (the rest after doubling from 80)", c)
	}
	var want []int64
	for n := int64(0); n < 2000; n += 100 {
		want = append(want, n)
	}
	for n := int64(10_000); n < 11_000; n++ {
		want = append(want, n)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%d rows %v…, want %d", len(got), got[:min(len(got), 30)], len(want))
	}
}

// CopyState hands a tagging Map's open sessions to its replacement, which
// goes on numbering them; the replaced Map keeps none.
func TestMapCopyStateTakesSessionTags(t *testing.T) {
	slot := func(i int) Expr { return func(row []Value) Value { return row[i] } }
	tagged := func() *Map {
		return &Map{
			Extract:  NewExtractor([][]string{{"ts"}, {"u"}}),
			Columns:  []string{"u", "sid", "seq"},
			Project:  []Expr{slot(1), slot(2), slot(3)},
			Sessions: &SessionTagger{Keys: []Expr{slot(1)}, EventTime: slot(0), Gap: 10_000, Counters: &Counters{}},
		}
	}
	var got []string
	emit := func(rs []*Record) {
		for _, r := range rs {
			got = append(got, r.Get("u").Text()+" "+r.Get("sid").Text()+" "+r.Get("seq").Text())
		}
	}
	old := tagged()
	old.Process(sessionEvents("0:u1", "1000:u2", "2000:u1"), emit)
	next := tagged()
	next.CopyState(old)
	next.Process(sessionEvents("3000:u1", "4000:u2"), emit)
	u1, u2 := SessionID([]Value{Str("u1")}, 0), SessionID([]Value{Str("u2")}, 1000)
	want := []string{"u1 " + u1 + " 1", "u2 " + u2 + " 1", "u1 " + u1 + " 2", "u1 " + u1 + " 3", "u2 " + u2 + " 2"}
	if !slices.Equal(got, want) {
		t.Errorf("tags\n%q\nwant\n%q", got, want)
	}
	if old.StateSize() != 0 || next.StateSize() != 2 {
		t.Errorf("state sizes %d (replaced) and %d (replacement), want 0 and 2", old.StateSize(), next.StateSize())
	}
}

// A tagged event the gap or more before its key's open session belongs to
// an earlier session: it gets an id of its own and sequence 1, and the open
// session goes on; one within the gap before joins it.
func TestSessionTagEarlierEvent(t *testing.T) {
	slot := func(i int) Expr { return func(row []Value) Value { return row[i] } }
	m := &Map{
		Extract:  NewExtractor([][]string{{"ts"}, {"u"}}),
		Columns:  []string{"sid", "seq"},
		Project:  []Expr{slot(2), slot(3)},
		Sessions: &SessionTagger{Keys: []Expr{slot(1)}, EventTime: slot(0), Gap: 10_000, Counters: &Counters{}},
	}
	var got []string
	m.Process(sessionEvents("50000:u", "40000:u", "45000:u", "36000:u", "58000:u"), func(rs []*Record) {
		for _, r := range rs {
			got = append(got, r.Get("sid").Text()[:8]+" "+r.Get("seq").Text())
		}
	})
	key := []Value{Str("u")}
	open, early := SessionID(key, 50000)[:8], SessionID(key, 40000)[:8]
	want := []string{open + " 1", early + " 1", open + " 2", open + " 3", open + " 4"}
	if !slices.Equal(got, want) {
		t.Errorf("tags %q, want %q", got, want)
	}
}
