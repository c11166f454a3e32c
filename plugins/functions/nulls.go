package functions

import "sluice/operators"

func init() {
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "COALESCE", MinArgs: 1, MaxArgs: -1,
		Doc:  "COALESCE(a, b, ...): the first argument that is not NULL",
		Eval: coalesce,
	})
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "IFNULL", MinArgs: 2, MaxArgs: 2,
		Doc:  "IFNULL(a, b): a, or b when a is NULL",
		Eval: coalesce,
	})
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "NULLIF", MinArgs: 2, MaxArgs: 2,
		Doc: "NULLIF(a, b): NULL when a equals b, else a",
		Eval: func(args []operators.Value) operators.Value {
			if args[0].Equal(args[1]) {
				return operators.Null()
			}
			return args[0]
		},
	})
}

func coalesce(args []operators.Value) operators.Value {
	for _, a := range args {
		if !a.IsNull() {
			return a
		}
	}
	return operators.Null()
}
