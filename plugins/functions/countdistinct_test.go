package functions

import (
	"math"
	"strconv"
	"testing"

	"sluice/operators"
)

func TestCountDistinctSmallIsExact(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []operators.Value
		want int64
	}{
		{"empty", nil, 0},
		{"nulls only", []operators.Value{null, null}, 0},
		{"repeats", []operators.Value{s("u1"), s("u2"), s("u1"), null, s("u3"), s("u2")}, 3},
		// Values are compared by text: 5, '5' and 5.0 are one value; true and 'true' too.
		{"by text", []operators.Value{i(5), s("5"), f(5), b(true), s("true"), f(5.5), js(`{"a":1}`), s(`{"a":1}`)}, 4},
	} {
		agg := newAggregate(t, "COUNT_DISTINCT")
		for _, v := range c.in {
			agg.Add(v)
		}
		if got := agg.Result(); got != i(c.want) {
			t.Errorf("%s: COUNT_DISTINCT = %v, want %d", c.name, got, c.want)
		}
	}
	for _, n := range []int{1, 10, 100, exactDistinct} {
		agg := newAggregate(t, "COUNT_DISTINCT")
		for rep := 0; rep < 3; rep++ {
			for u := range n {
				agg.Add(s("user-" + strconv.Itoa(u)))
			}
		}
		if got := agg.Result(); got != i(int64(n)) {
			t.Errorf("%d distinct users added 3 times each: COUNT_DISTINCT = %v", n, got)
		}
	}
}

// Past the exact set the estimate is within the sketch's error: precision 14
// has a standard error of 1.04/√16384 ≈ 0.81%; the test allows three.
func TestCountDistinctLargeIsWithinError(t *testing.T) {
	for _, n := range []int{exactDistinct + 1, 5_000, 50_000, 300_000} {
		agg := newAggregate(t, "COUNT_DISTINCT")
		for u := range n {
			agg.Add(i(int64(u) * 7919))
		}
		got := float64(agg.Result().I)
		if rel := math.Abs(got-float64(n)) / float64(n); rel > 3*0.0081 {
			t.Errorf("n = %d: estimate %.0f is off by %.2f%%", n, got, 100*rel)
		}
	}
}

func TestCountDistinctRoundTrip(t *testing.T) {
	for _, n := range []int{0, 5, 500, 20_000} {
		agg := newAggregate(t, "COUNT_DISTINCT")
		for u := range n {
			agg.Add(s("u" + strconv.Itoa(u)))
		}
		restored := roundTrip(t, agg, newAggregate(t, "COUNT_DISTINCT"))
		// Both go on counting alike, so no state was lost.
		for u := n / 2; u < n+1000; u++ {
			agg.Add(s("u" + strconv.Itoa(u)))
			restored.Add(s("u" + strconv.Itoa(u)))
		}
		if a, b := agg.Result(), restored.Result(); a != b {
			t.Errorf("n = %d: after more adds original %v, restored %v", n, a, b)
		}
	}
	for _, bad := range [][]byte{nil, {9, 9, 9}, {distinctExact, 1, 2, 3}, {distinctSketch, 0xff}} {
		if err := newAggregate(t, "COUNT_DISTINCT").UnmarshalBinary(bad); err == nil {
			t.Errorf("state %v accepted", bad)
		}
	}
}

func BenchmarkCountDistinctAdd(b *testing.B) {
	agg := newAggregate(b, "COUNT_DISTINCT")
	users := make([]operators.Value, 4096)
	for u := range users {
		users[u] = s("user-" + strconv.Itoa(u*104729))
	}
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		agg.Add(users[n%len(users)])
	}
}

// BenchmarkCountDistinctExact is the exact phase: groups of 600 adds over
// 300 distinct values, a new group every 600 adds.
func BenchmarkCountDistinctExact(b *testing.B) {
	users := make([]operators.Value, 300)
	for u := range users {
		users[u] = s("user-" + strconv.Itoa(u*104729))
	}
	var agg operators.Aggregator
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		if n%600 == 0 {
			agg = newAggregate(b, "COUNT_DISTINCT")
		}
		agg.Add(users[n%len(users)])
	}
}

func BenchmarkCountDistinctAddInt(b *testing.B) {
	agg := newAggregate(b, "COUNT_DISTINCT")
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		agg.Add(i(int64(n)))
	}
}

func TestHashSet(t *testing.T) {
	var s hashSet
	want := map[uint64]bool{}
	for i := range uint64(5000) {
		h := (i * 0x9e3779b97f4a7c15) & 0xffff // collisions on the low bits, and 0
		s.add(h)
		want[h] = true
	}
	if s.len() != len(want) {
		t.Fatalf("len %d, want %d", s.len(), len(want))
	}
	got := map[uint64]bool{}
	s.each(func(h uint64) {
		if got[h] {
			t.Errorf("%d listed twice", h)
		}
		got[h] = true
	})
	for h := range want {
		if !got[h] {
			t.Errorf("%d missing", h)
		}
	}
}
