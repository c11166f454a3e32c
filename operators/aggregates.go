package operators

import (
	"encoding/binary"
	"errors"
	"math"
)

// The built-in aggregates. Sketch aggregates (COUNT_DISTINCT, PERCENTILE,
// TOPK) are plugins; they register through the same registry.
func init() {
	one := func(f AggregatorFactory) func([]Value) (AggregatorFactory, error) {
		return func([]Value) (AggregatorFactory, error) { return f, nil }
	}
	RegisterAggregate(AggregateFunc{Name: "COUNT", Star: true, Doc: "rows, or non-NULL values of x", New: one(func(dst []Aggregator) { Fill(dst, countAgg{}) })})
	RegisterAggregate(AggregateFunc{Name: "SUM", Doc: "sum of x; integers stay integers", New: one(func(dst []Aggregator) { Fill(dst, sumAgg{}) })})
	RegisterAggregate(AggregateFunc{Name: "AVG", Doc: "mean of x", New: one(func(dst []Aggregator) { Fill(dst, avgAgg{}) })})
	RegisterAggregate(AggregateFunc{Name: "MIN", Doc: "smallest x", New: one(func(dst []Aggregator) { Fill(dst, extremeAgg{want: -1}) })})
	RegisterAggregate(AggregateFunc{Name: "MAX", Doc: "largest x", New: one(func(dst []Aggregator) { Fill(dst, extremeAgg{want: 1}) })})
	RegisterAggregate(AggregateFunc{Name: "FIRST", Doc: "first non-NULL x in arrival order", New: one(func(dst []Aggregator) { Fill(dst, firstAgg{}) })})
	RegisterAggregate(AggregateFunc{Name: "LAST", Doc: "last non-NULL x in arrival order", New: one(func(dst []Aggregator) { Fill(dst, lastAgg{}) })})
}

// countAgg counts non-NULL values; COUNT(*) is compiled to add a non-NULL
// constant per row.
type countAgg struct{ n int64 }

func (a *countAgg) Add(v Value) {
	if v.Kind != KindNull {
		a.n++
	}
}
func (a *countAgg) Result() Value                  { return Int(a.n) }
func (a *countAgg) Reset()                         { a.n = 0 }
func (a *countAgg) MarshalBinary() ([]byte, error) { return binary.AppendVarint(nil, a.n), nil }
func (a *countAgg) UnmarshalBinary(b []byte) error { return readVarints(b, &a.n) }

// sumAgg keeps an exact integer sum until a float arrives.
type sumAgg struct {
	i       int64
	f       float64
	isFloat bool
	seen    bool
}

func (a *sumAgg) Add(v Value) {
	switch v.Kind {
	case KindInt:
		a.i += v.I
	case KindNull:
		return
	default:
		f, ok := v.Num()
		if !ok {
			return
		}
		a.f += f
		a.isFloat = true
	}
	a.seen = true
}

func (a *sumAgg) Result() Value {
	switch {
	case !a.seen:
		return Null()
	case a.isFloat:
		return Float(a.f + float64(a.i))
	}
	return Int(a.i)
}

func (a *sumAgg) Reset() { *a = sumAgg{} }

func (a *sumAgg) MarshalBinary() ([]byte, error) {
	b := binary.AppendVarint(nil, a.i)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(a.f))
	return append(b, flags(a.isFloat, a.seen)), nil
}

func (a *sumAgg) UnmarshalBinary(b []byte) error {
	i, n := binary.Varint(b)
	if n <= 0 || len(b) < n+9 {
		return errShortState
	}
	a.i, a.f = i, math.Float64frombits(binary.LittleEndian.Uint64(b[n:]))
	a.isFloat, a.seen = b[n+8]&1 != 0, b[n+8]&2 != 0
	return nil
}

type avgAgg struct {
	sum float64
	n   int64
}

func (a *avgAgg) Add(v Value) {
	if f, ok := v.Num(); ok && v.Kind != KindNull {
		a.sum += f
		a.n++
	}
}

func (a *avgAgg) Result() Value {
	if a.n == 0 {
		return Null()
	}
	return Float(a.sum / float64(a.n))
}

func (a *avgAgg) Reset() { *a = avgAgg{} }

func (a *avgAgg) MarshalBinary() ([]byte, error) {
	b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(a.sum))
	return binary.AppendVarint(b, a.n), nil
}

func (a *avgAgg) UnmarshalBinary(b []byte) error {
	if len(b) < 8 {
		return errShortState
	}
	a.sum = math.Float64frombits(binary.LittleEndian.Uint64(b))
	return readVarints(b[8:], &a.n)
}

// extremeAgg is MIN (want -1) or MAX (want 1).
type extremeAgg struct {
	v    Value
	want int
}

func (a *extremeAgg) Add(v Value) {
	if v.Kind == KindNull {
		return
	}
	if a.v.Kind == KindNull {
		a.v = v
		return
	}
	if c, ok := Compare(v, a.v); ok && c == a.want {
		a.v = v
	}
}
func (a *extremeAgg) Result() Value                  { return a.v }
func (a *extremeAgg) Reset()                         { a.v = Value{} }
func (a *extremeAgg) MarshalBinary() ([]byte, error) { return AppendValue(nil, a.v), nil }
func (a *extremeAgg) UnmarshalBinary(b []byte) error { return readOneValue(b, &a.v) }

type firstAgg struct{ v Value }

func (a *firstAgg) Add(v Value) {
	if a.v.Kind == KindNull {
		a.v = v
	}
}
func (a *firstAgg) Result() Value                  { return a.v }
func (a *firstAgg) Reset()                         { a.v = Value{} }
func (a *firstAgg) MarshalBinary() ([]byte, error) { return AppendValue(nil, a.v), nil }
func (a *firstAgg) UnmarshalBinary(b []byte) error { return readOneValue(b, &a.v) }

type lastAgg struct{ v Value }

func (a *lastAgg) Add(v Value) {
	if v.Kind != KindNull {
		a.v = v
	}
}
func (a *lastAgg) Result() Value                  { return a.v }
func (a *lastAgg) Reset()                         { a.v = Value{} }
func (a *lastAgg) MarshalBinary() ([]byte, error) { return AppendValue(nil, a.v), nil }
func (a *lastAgg) UnmarshalBinary(b []byte) error { return readOneValue(b, &a.v) }

func flags(bits ...bool) byte {
	var f byte
	for i, b := range bits {
		if b {
			f |= 1 << i
		}
	}
	return f
}

func readVarints(b []byte, dst ...*int64) error {
	for _, d := range dst {
		v, n := binary.Varint(b)
		if n <= 0 {
			return errShortState
		}
		*d, b = v, b[n:]
	}
	return nil
}

func readOneValue(b []byte, dst *Value) error {
	v, rest, err := ReadValue(b)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("state: trailing bytes")
	}
	*dst = v
	return nil
}
