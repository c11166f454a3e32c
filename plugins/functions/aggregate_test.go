package functions

import (
	"testing"

	"sluice/operators"
)

// newAggregate builds an aggregator as the compiler would, from constant params.
func newAggregate(t testing.TB, name string, params ...operators.Value) operators.Aggregator {
	t.Helper()
	fn, ok := operators.LookupAggregate(name)
	if !ok {
		t.Fatalf("aggregate %s is not registered", name)
	}
	if len(params) != fn.Params {
		t.Fatalf("%s takes %d params, test passes %d", name, fn.Params, len(params))
	}
	factory, err := fn.New(params)
	if err != nil {
		t.Fatalf("%s%v: %v", name, params, err)
	}
	return operators.NewAggregator(factory)
}

// roundTrip marshals a into a fresh aggregator of the same kind and checks
// that the copy answers the same. (Its bytes may differ: a sketch may
// compact itself when restored.)
func roundTrip(t *testing.T, a operators.Aggregator, fresh operators.Aggregator) operators.Aggregator {
	t.Helper()
	state, err := a.MarshalBinary()
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if err := fresh.UnmarshalBinary(state); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if got, want := fresh.Result(), a.Result(); got != want {
		t.Errorf("after round trip Result = %v, want %v", got, want)
	}
	return fresh
}
