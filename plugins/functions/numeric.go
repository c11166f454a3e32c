package functions

import (
	"math"
	"strconv"
	"strings"

	"sluice/operators"
)

func init() {
	strict("ABS", 1, 1, "ABS(x): absolute value of x", func(args []operators.Value) operators.Value {
		x, ok := number(args[0])
		switch {
		case !ok:
			return operators.Null()
		case x.Kind == operators.KindInt && x.I == math.MinInt64:
			return operators.Float(-float64(x.I))
		case x.Kind == operators.KindInt && x.I < 0:
			return operators.Int(-x.I)
		case x.Kind == operators.KindFloat:
			return operators.Float(math.Abs(x.Float64()))
		}
		return x
	})
	strict("ROUND", 1, 2, "ROUND(x[, d]): x rounded half away from zero to d decimals (default 0; negative d rounds left of the point)", round)
	strict("FLOOR", 1, 1, "FLOOR(x): largest integer not above x", func(args []operators.Value) operators.Value {
		return integral(args[0], math.Floor)
	})
	strict("CEIL", 1, 1, "CEIL(x): smallest integer not below x", func(args []operators.Value) operators.Value {
		return integral(args[0], math.Ceil)
	})
	strict("GREATEST", 1, -1, "GREATEST(a, b, ...): the largest argument; NULL if any is NULL", func(args []operators.Value) operators.Value {
		return extreme(args, 1)
	})
	strict("LEAST", 1, -1, "LEAST(a, b, ...): the smallest argument; NULL if any is NULL", func(args []operators.Value) operators.Value {
		return extreme(args, -1)
	})
	strict("MOD", 2, 2, "MOD(a, b): remainder of a divided by b, with the sign of a; NULL when b is 0", mod)
}

// number is v as an Int or a Float; numeric strings are parsed, integers
// first so that '42' stays an integer.
func number(v operators.Value) (operators.Value, bool) {
	switch v.Kind {
	case operators.KindInt, operators.KindFloat:
		return v, true
	case operators.KindBool:
		return operators.Int(v.I), true
	case operators.KindString:
		s := strings.TrimSpace(v.S)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return operators.Int(i), true
		}
		if f, ok := v.Num(); ok { // not "NaN" or "Inf"
			return operators.Float(f), true
		}
	}
	return operators.Null(), false
}

func round(args []operators.Value) operators.Value {
	x, ok := number(args[0])
	if !ok {
		return operators.Null()
	}
	d := 0
	if len(args) == 2 {
		if d, ok = intArg(args[1]); !ok {
			return operators.Null()
		}
	}
	if x.Kind == operators.KindFloat {
		return operators.Float(roundDecimal(x.Float64(), d))
	}
	if d >= 0 {
		return x
	}
	if d < -18 {
		return operators.Int(0)
	}
	p := int64(math.Pow10(-d))
	q, r := x.I/p, x.I%p
	switch {
	case r >= (p+1)/2:
		q++
	case r <= -(p+1)/2:
		q--
	}
	return operators.Int(q * p)
}

// roundDecimal rounds the shortest decimal form of x rather than its binary
// value, so ROUND(1.005, 2) is 1.01 as a reader of the number expects.
func roundDecimal(x float64, d int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) || d > 17 {
		return x
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], math.Abs(x), 'e', -1, 64) // d.ddddde±XX
	var digitBuf [24]byte
	digits := digitBuf[:0]
	i := 0
	for ; b[i] != 'e'; i++ {
		if b[i] != '.' {
			digits = append(digits, b[i])
		}
	}
	e := 0
	for _, c := range b[i+2:] {
		e = e*10 + int(c-'0')
	}
	if b[i+1] == '-' {
		e = -e
	}
	keep := e + 1 + d // digits left of the rounding point
	if keep >= len(digits) {
		return x
	}
	if keep < 0 {
		return math.Copysign(0, x)
	}
	var n uint64
	for _, c := range digits[:keep] {
		n = n*10 + uint64(c-'0')
	}
	if digits[keep] >= '5' {
		n++
	}
	var r float64
	if d >= 0 {
		r = float64(n) / math.Pow10(d)
	} else {
		r = float64(n) * math.Pow10(-d)
	}
	return math.Copysign(r, x)
}

// integral applies floor or ceil; the result is an Int when it fits.
func integral(v operators.Value, fn func(float64) float64) operators.Value {
	x, ok := number(v)
	if !ok {
		return operators.Null()
	}
	if x.Kind == operators.KindInt {
		return x
	}
	f := fn(x.Float64())
	if f >= -(1<<63) && f < 1<<63 {
		return operators.Int(int64(f))
	}
	return operators.Float(f)
}

// extreme returns the argument that compares as want (1 largest, -1
// smallest) against all others, or NULL when two cannot be compared.
func extreme(args []operators.Value, want int) operators.Value {
	best := args[0]
	for _, a := range args[1:] {
		c, ok := operators.Compare(a, best)
		if !ok {
			return operators.Null()
		}
		if c == want {
			best = a
		}
	}
	return best
}

func mod(args []operators.Value) operators.Value {
	a, ok1 := number(args[0])
	b, ok2 := number(args[1])
	if !ok1 || !ok2 {
		return operators.Null()
	}
	if a.Kind == operators.KindInt && b.Kind == operators.KindInt {
		if b.I == 0 {
			return operators.Null()
		}
		return operators.Int(a.I % b.I)
	}
	x, _ := a.Num()
	y, _ := b.Num()
	if y == 0 {
		return operators.Null()
	}
	return operators.Float(math.Mod(x, y))
}
