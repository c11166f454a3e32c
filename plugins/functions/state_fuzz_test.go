package functions

import (
	"math/rand/v2"
	"testing"

	"sluice/operators"
)

// stateAggregates are every aggregate a checkpoint can hold, with the
// parameters they need.
var stateAggregates = []struct {
	name   string
	params []operators.Value
}{
	{"COUNT", nil}, {"SUM", nil}, {"AVG", nil}, {"MIN", nil}, {"MAX", nil},
	{"FIRST", nil}, {"LAST", nil}, {"COUNT_DISTINCT", nil},
	{"PERCENTILE", []operators.Value{i(90)}}, {"MEDIAN", nil}, {"TOPK", []operators.Value{i(3)}},
}

// FuzzAggregateState feeds arbitrary bytes to every aggregate's
// UnmarshalBinary, as a damaged checkpoint would: it may refuse them, but
// must not panic, and a state it accepts must answer, take more values and
// survive its own round trip unchanged.
func FuzzAggregateState(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, a := range stateAggregates {
		for _, n := range []int{0, 1, 3, 200, 2000} {
			agg := newAggregate(f, a.name, a.params...)
			for range n {
				agg.Add(f64(r.NormFloat64() * 100))
				agg.Add(s(string(rune('a' + r.IntN(20)))))
			}
			state, err := agg.MarshalBinary()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(state)
		}
	}
	f.Fuzz(func(t *testing.T, state []byte) {
		for _, a := range stateAggregates {
			agg := newAggregate(t, a.name, a.params...)
			if agg.UnmarshalBinary(state) != nil {
				continue
			}
			agg.Result()
			agg.Add(i(7))
			agg.Add(s("x"))
			again, err := agg.MarshalBinary()
			if err != nil {
				t.Fatalf("%s: marshal an accepted state: %v", a.name, err)
			}
			back := newAggregate(t, a.name, a.params...)
			if err := back.UnmarshalBinary(again); err != nil {
				t.Fatalf("%s: its own state refused: %v", a.name, err)
			}
			if x, y := agg.Result(), back.Result(); x != y && !(isNaN(x) && isNaN(y)) {
				t.Fatalf("%s: %v before its round trip, %v after", a.name, x, y)
			}
		}
	})
}

func f64(x float64) operators.Value { return operators.Float(x) }

func isNaN(v operators.Value) bool { x, ok := v.Num(); return ok && x != x }
