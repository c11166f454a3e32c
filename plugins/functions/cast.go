package functions

import (
	"math"

	"sluice/operators"
)

// Conversions by name; CAST(x AS …) is compiled by the SQL engine itself.
func init() {
	strict("TO_INT", 1, 1, "TO_INT(x): x as an integer (floats and numeric strings truncate; NULL when not a number)", func(args []operators.Value) operators.Value {
		x, ok := number(args[0])
		switch {
		case !ok:
			return operators.Null()
		case x.Kind == operators.KindFloat:
			if math.IsNaN(x.Float64()) || x.Float64() < -(1<<63) || x.Float64() >= 1<<63 {
				return operators.Null()
			}
			return operators.Int(int64(x.Float64()))
		}
		return x
	})
	strict("TO_FLOAT", 1, 1, "TO_FLOAT(x): x as a floating-point number (NULL when not a number)", func(args []operators.Value) operators.Value {
		f, ok := args[0].Num()
		if !ok {
			return operators.Null()
		}
		return operators.Float(f)
	})
	strict("TO_STRING", 1, 1, "TO_STRING(x): x as text (JSON as its raw text)", func(args []operators.Value) operators.Value {
		if args[0].Kind == operators.KindString {
			return args[0]
		}
		return operators.Str(args[0].Text())
	})
}
