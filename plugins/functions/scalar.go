// Package functions is sluice's SQL function library: string, numeric, time,
// URL and JSON scalars; the approximate aggregates (COUNT_DISTINCT,
// PERCENTILE, MEDIAN, TOPK); user-agent, bot and geo enrichment; and the
// bot_signatures sink that feeds bot_signature(ip). Everything registers
// itself with the operators registry in init().
package functions

import "sluice/operators"

// strict registers a scalar whose result is NULL when any argument is NULL,
// the SQL rule for most functions, so fn only sees non-NULL arguments.
func strict(name string, minArgs, maxArgs int, doc string, fn func(args []operators.Value) operators.Value) {
	operators.RegisterScalar(operators.ScalarFunc{
		Name: name, MinArgs: minArgs, MaxArgs: maxArgs, Doc: doc,
		Eval: func(args []operators.Value) operators.Value {
			for _, a := range args {
				if a.IsNull() {
					return operators.Null()
				}
			}
			return fn(args)
		},
	})
}

// text registers a strict one-argument function of the argument's text.
func text(name, doc string, fn func(s string) operators.Value) {
	strict(name, 1, 1, doc, func(args []operators.Value) operators.Value {
		return fn(args[0].Text())
	})
}

// intArg reads an integer argument such as a position or a count.
func intArg(v operators.Value) (int, bool) {
	i, ok := v.Int64()
	return int(i), ok
}
