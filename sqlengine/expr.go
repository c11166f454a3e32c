package sqlengine

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/xwb1989/sqlparser"

	"sluice/operators"
)

// exprError is a compile error inside an expression; token lets the caller
// find its line and column in the statement text.
type exprError struct {
	token string
	msg   string
}

func (e *exprError) Error() string { return e.msg }

func errorf(token, format string, args ...any) error {
	return &exprError{token: token, msg: fmt.Sprintf(format, args...)}
}

// scope resolves names while compiling: before grouping (the input row's
// fields) or after it (group keys, aggregates, select aliases).
type scope interface {
	column(c *sqlparser.ColName) (operators.Expr, error)
	// function is consulted before scalar functions: aggregates, and group
	// keys that are function calls. ok false means "not mine".
	function(f *sqlparser.FuncExpr) (e operators.Expr, ok bool, err error)
	// expression matches a whole expression (a GROUP BY key) before compiling it.
	expression(e sqlparser.Expr) (operators.Expr, bool)
}

// compiler turns sqlparser expressions into closures.
type compiler struct {
	scope scope
	// volatile: an expression compiled here calls a volatile function
	// (one whose answer for the same arguments changes, such as NOW()).
	volatile bool
}

func constant(v operators.Value) operators.Expr {
	return func([]operators.Value) operators.Value { return v }
}

// isConst reports whether e is a literal, or literals combined by unary and
// arithmetic operators, so that it can be folded to its value.
func isConst(e sqlparser.Expr) bool {
	switch e := e.(type) {
	case *sqlparser.SQLVal, *sqlparser.NullVal, sqlparser.BoolVal:
		return true
	case *sqlparser.UnaryExpr:
		return isConst(e.Expr)
	case *sqlparser.ParenExpr:
		return isConst(e.Expr)
	case *sqlparser.BinaryExpr:
		return isConst(e.Left) && isConst(e.Right)
	}
	return false
}

// compile turns an expression into a closure; a constant one (isConst) is
// evaluated here, once, instead of for every row.
func (c *compiler) compile(e sqlparser.Expr) (operators.Expr, error) {
	if f, ok := c.scope.expression(e); ok {
		return f, nil
	}
	if !isConst(e) {
		return c.compileNode(e)
	}
	v, err := fold(e)
	if err != nil {
		return nil, err
	}
	return constant(v), nil
}

// fold evaluates a constant expression (isConst) once. It compiles it
// without the statement's scope: a literal inside it may also be a group
// key (GROUP BY 0), whose compiled form reads a row that folding does not
// have.
func fold(e sqlparser.Expr) (operators.Value, error) {
	f, err := literals.compileNode(e)
	if err != nil {
		return operators.Value{}, err
	}
	return f(nil), nil
}

// literals compiles constant expressions, in which nothing is a column, a
// function or a group key.
var literals = &compiler{scope: literalScope{}}

type literalScope struct{}

func (literalScope) column(c *sqlparser.ColName) (operators.Expr, error) {
	return nil, errorf(c.Name.String(), "column %s in a constant expression", c.Name.String())
}

func (literalScope) function(*sqlparser.FuncExpr) (operators.Expr, bool, error) {
	return nil, false, nil
}

func (literalScope) expression(sqlparser.Expr) (operators.Expr, bool) { return nil, false }

func (c *compiler) compileNode(e sqlparser.Expr) (operators.Expr, error) {
	switch e := e.(type) {
	case *sqlparser.SQLVal:
		v, err := literal(e)
		return constant(v), err
	case *sqlparser.NullVal:
		return constant(operators.Null()), nil
	case sqlparser.BoolVal:
		return constant(operators.Bool(bool(e))), nil
	case *sqlparser.ColName:
		return c.scope.column(e)
	case *sqlparser.ParenExpr:
		return c.compile(e.Expr)
	case *sqlparser.AndExpr:
		return c.logic(e.Left, e.Right, true)
	case *sqlparser.OrExpr:
		return c.logic(e.Left, e.Right, false)
	case *sqlparser.NotExpr:
		x, err := c.compile(e.Expr)
		if err != nil {
			return nil, err
		}
		return not(x), nil
	case *sqlparser.ComparisonExpr:
		return c.comparison(e)
	case *sqlparser.RangeCond:
		return c.between(e)
	case *sqlparser.IsExpr:
		return c.is(e)
	case *sqlparser.BinaryExpr:
		return c.arithmetic(e)
	case *sqlparser.UnaryExpr:
		return c.unary(e)
	case *sqlparser.CaseExpr:
		return c.caseExpr(e)
	case *sqlparser.FuncExpr:
		return c.function(e)
	case *sqlparser.SubstrExpr:
		args := []sqlparser.Expr{e.Name, e.From}
		if e.To != nil {
			args = append(args, e.To)
		}
		return c.call("SUBSTRING", args)
	case *sqlparser.ConvertExpr:
		return c.cast(e)
	case *sqlparser.IntervalExpr:
		return nil, errorf("INTERVAL", "INTERVAL is only allowed in TUMBLE, HOP and SESSION")
	case *sqlparser.Subquery:
		return nil, errorf("SELECT", "subqueries are not supported; chain statements with INSERT INTO instead")
	}
	return nil, errorf(firstWord(sqlparser.String(e)), "unsupported expression %s", sqlparser.String(e))
}

// not is NOT x and !x: NULL stays NULL.
func not(x operators.Expr) operators.Expr {
	return func(row []operators.Value) operators.Value {
		v := x(row)
		if v.IsNull() {
			return v
		}
		return operators.Bool(!v.Truthy())
	}
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " (,"); i > 0 {
		return s[:i]
	}
	return s
}

func literal(v *sqlparser.SQLVal) (operators.Value, error) {
	s := string(v.Val)
	switch v.Type {
	case sqlparser.StrVal:
		return operators.Str(s), nil
	case sqlparser.IntVal:
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return operators.Int(i), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return operators.Null(), errorf(s, "bad number %s", s)
		}
		return operators.Float(f), nil
	case sqlparser.FloatVal:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return operators.Null(), errorf(s, "bad number %s", s)
		}
		return operators.Float(f), nil
	case sqlparser.HexNum:
		i, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 64)
		if err != nil {
			return operators.Null(), errorf(s, "bad hex number %s", s)
		}
		return operators.Int(i), nil
	}
	return operators.Null(), errorf(s, "unsupported literal %s", s)
}

func (c *compiler) logic(l, r sqlparser.Expr, and bool) (operators.Expr, error) {
	x, err := c.compile(l)
	if err != nil {
		return nil, err
	}
	y, err := c.compile(r)
	if err != nil {
		return nil, err
	}
	// Three-valued logic: FALSE AND NULL is FALSE, TRUE OR NULL is TRUE.
	return func(row []operators.Value) operators.Value {
		a := x(row)
		if !a.IsNull() && a.Truthy() != and {
			return operators.Bool(!and)
		}
		b := y(row)
		if !b.IsNull() && b.Truthy() != and {
			return operators.Bool(!and)
		}
		if a.IsNull() || b.IsNull() {
			return operators.Null()
		}
		return operators.Bool(and)
	}, nil
}

func (c *compiler) comparison(e *sqlparser.ComparisonExpr) (operators.Expr, error) {
	x, err := c.compile(e.Left)
	if err != nil {
		return nil, err
	}
	switch e.Operator {
	case sqlparser.InStr, sqlparser.NotInStr:
		return c.in(x, e)
	case sqlparser.LikeStr, sqlparser.NotLikeStr:
		return c.like(x, e)
	case sqlparser.RegexpStr, sqlparser.NotRegexpStr:
		return c.regexp(x, e)
	}
	y, err := c.compile(e.Right)
	if err != nil {
		return nil, err
	}
	var test func(int) bool
	switch e.Operator {
	case sqlparser.EqualStr:
		test = func(c int) bool { return c == 0 }
	case sqlparser.NotEqualStr:
		test = func(c int) bool { return c != 0 }
	case sqlparser.LessThanStr:
		test = func(c int) bool { return c < 0 }
	case sqlparser.LessEqualStr:
		test = func(c int) bool { return c <= 0 }
	case sqlparser.GreaterThanStr:
		test = func(c int) bool { return c > 0 }
	case sqlparser.GreaterEqualStr:
		test = func(c int) bool { return c >= 0 }
	case sqlparser.NullSafeEqualStr:
		return func(row []operators.Value) operators.Value {
			a, b := x(row), y(row)
			if a.IsNull() || b.IsNull() {
				return operators.Bool(a.IsNull() && b.IsNull())
			}
			return operators.Bool(a.Equal(b))
		}, nil
	default:
		return nil, errorf(e.Operator, "unsupported operator %s", e.Operator)
	}
	return func(row []operators.Value) operators.Value {
		cmp, ok := operators.Compare(x(row), y(row))
		if !ok {
			return operators.Null()
		}
		return operators.Bool(test(cmp))
	}, nil
}

func (c *compiler) in(x operators.Expr, e *sqlparser.ComparisonExpr) (operators.Expr, error) {
	tuple, ok := e.Right.(sqlparser.ValTuple)
	if !ok {
		return nil, errorf("IN", "IN needs a list of values: x IN (1, 2, 3)")
	}
	list, vals, err := c.compileArgs(tuple)
	if err != nil {
		return nil, err
	}
	negate := e.Operator == sqlparser.NotInStr
	// x IN (a, b) is x = a OR x = b: without a match, a NULL in the list
	// makes the answer unknown (NULL), for NOT IN too.
	noMatch := func(sawNull bool) operators.Value {
		if sawNull {
			return operators.Null()
		}
		return operators.Bool(negate)
	}
	if vals != nil {
		// The usual x IN ('a', 'b'): the values are known now.
		hasNull := slices.ContainsFunc(vals, operators.Value.IsNull)
		return func(row []operators.Value) operators.Value {
			v := x(row)
			if v.IsNull() {
				return v
			}
			for _, w := range vals {
				if v.Equal(w) {
					return operators.Bool(!negate)
				}
			}
			return noMatch(hasNull)
		}, nil
	}
	return func(row []operators.Value) operators.Value {
		v := x(row)
		if v.IsNull() {
			return v
		}
		sawNull := false
		for _, f := range list {
			w := f(row)
			if v.Equal(w) {
				return operators.Bool(!negate)
			}
			sawNull = sawNull || w.IsNull()
		}
		return noMatch(sawNull)
	}, nil
}

func (c *compiler) like(x operators.Expr, e *sqlparser.ComparisonExpr) (operators.Expr, error) {
	pat, ok := e.Right.(*sqlparser.SQLVal)
	if !ok || pat.Type != sqlparser.StrVal {
		return nil, errorf("LIKE", "LIKE needs a constant string pattern")
	}
	match, err := likeMatcher(string(pat.Val))
	if err != nil {
		return nil, errorf("LIKE", "bad LIKE pattern %q: %v", pat.Val, err)
	}
	negate := e.Operator == sqlparser.NotLikeStr
	return func(row []operators.Value) operators.Value {
		v := x(row)
		if v.IsNull() {
			return v
		}
		return operators.Bool(match(v.Text()) != negate)
	}, nil
}

// likeMatcher compiles a LIKE pattern; the common shapes (prefix%, %suffix,
// %infix%) avoid regular expressions.
func likeMatcher(p string) (func(string) bool, error) {
	if !strings.ContainsAny(p, "_\\") {
		inner := strings.Trim(p, "%")
		if !strings.Contains(inner, "%") {
			switch pre, suf := strings.HasPrefix(p, "%"), strings.HasSuffix(p, "%") && len(p) > 1; {
			case pre && suf:
				return func(s string) bool { return strings.Contains(s, inner) }, nil
			case pre:
				return func(s string) bool { return strings.HasSuffix(s, inner) }, nil
			case suf:
				return func(s string) bool { return strings.HasPrefix(s, inner) }, nil
			default:
				return func(s string) bool { return s == p }, nil
			}
		}
	}
	var b strings.Builder
	b.WriteString("(?s)^")
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			if i+1 < len(p) {
				i++
			}
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}

func (c *compiler) regexp(x operators.Expr, e *sqlparser.ComparisonExpr) (operators.Expr, error) {
	pat, ok := e.Right.(*sqlparser.SQLVal)
	if !ok || pat.Type != sqlparser.StrVal {
		return nil, errorf("REGEXP", "REGEXP needs a constant string pattern")
	}
	re, err := regexp.Compile(string(pat.Val))
	if err != nil {
		return nil, errorf("REGEXP", "bad regular expression %q: %v", pat.Val, err)
	}
	negate := e.Operator == sqlparser.NotRegexpStr
	return func(row []operators.Value) operators.Value {
		v := x(row)
		if v.IsNull() {
			return v
		}
		return operators.Bool(re.MatchString(v.Text()) != negate)
	}, nil
}

func (c *compiler) between(e *sqlparser.RangeCond) (operators.Expr, error) {
	x, err := c.compile(e.Left)
	if err != nil {
		return nil, err
	}
	lo, err := c.compile(e.From)
	if err != nil {
		return nil, err
	}
	hi, err := c.compile(e.To)
	if err != nil {
		return nil, err
	}
	negate := e.Operator == sqlparser.NotBetweenStr
	// x BETWEEN lo AND hi is x >= lo AND x <= hi, with AND's NULL rules:
	// one false side decides even when the other is NULL.
	return func(row []operators.Value) operators.Value {
		v := x(row)
		a, ok1 := operators.Compare(v, lo(row))
		b, ok2 := operators.Compare(v, hi(row))
		if (ok1 && a < 0) || (ok2 && b > 0) {
			return operators.Bool(negate)
		}
		if !ok1 || !ok2 {
			return operators.Null()
		}
		return operators.Bool(!negate)
	}, nil
}

func (c *compiler) is(e *sqlparser.IsExpr) (operators.Expr, error) {
	x, err := c.compile(e.Expr)
	if err != nil {
		return nil, err
	}
	var test func(operators.Value) bool
	switch e.Operator {
	case sqlparser.IsNullStr:
		test = operators.Value.IsNull
	case sqlparser.IsNotNullStr:
		test = func(v operators.Value) bool { return !v.IsNull() }
	case sqlparser.IsTrueStr:
		test = func(v operators.Value) bool { return !v.IsNull() && v.Truthy() }
	case sqlparser.IsNotTrueStr:
		test = func(v operators.Value) bool { return v.IsNull() || !v.Truthy() }
	case sqlparser.IsFalseStr:
		test = func(v operators.Value) bool { return !v.IsNull() && !v.Truthy() }
	case sqlparser.IsNotFalseStr:
		test = func(v operators.Value) bool { return v.IsNull() || v.Truthy() }
	default:
		return nil, errorf("IS", "unsupported %s", e.Operator)
	}
	return func(row []operators.Value) operators.Value { return operators.Bool(test(x(row))) }, nil
}

func (c *compiler) arithmetic(e *sqlparser.BinaryExpr) (operators.Expr, error) {
	x, err := c.compile(e.Left)
	if err != nil {
		return nil, err
	}
	y, err := c.compile(e.Right)
	if err != nil {
		return nil, err
	}
	op := e.Operator
	switch op {
	case sqlparser.PlusStr, sqlparser.MinusStr, sqlparser.MultStr, sqlparser.DivStr, sqlparser.ModStr, sqlparser.IntDivStr,
		sqlparser.BitAndStr, sqlparser.BitOrStr, sqlparser.BitXorStr, sqlparser.ShiftLeftStr, sqlparser.ShiftRightStr:
	default:
		return nil, errorf(op, "unsupported operator %s", op)
	}
	return func(row []operators.Value) operators.Value { return arith(op, x(row), y(row)) }, nil
}

// arith is MySQL-like arithmetic: integers stay integers except for /,
// division by zero is NULL, and NULL in gives NULL out.
func arith(op string, a, b operators.Value) operators.Value {
	if a.Kind == operators.KindInt && b.Kind == operators.KindInt {
		i, j := a.I, b.I
		switch op {
		case sqlparser.PlusStr:
			return operators.Int(i + j)
		case sqlparser.MinusStr:
			return operators.Int(i - j)
		case sqlparser.MultStr:
			return operators.Int(i * j)
		case sqlparser.ModStr, sqlparser.IntDivStr:
			if j == 0 {
				return operators.Null()
			}
			if op == sqlparser.ModStr {
				return operators.Int(i % j)
			}
			return operators.Int(i / j)
		case sqlparser.BitAndStr:
			return operators.Int(i & j)
		case sqlparser.BitOrStr:
			return operators.Int(i | j)
		case sqlparser.BitXorStr:
			return operators.Int(i ^ j)
		case sqlparser.ShiftLeftStr:
			return operators.Int(i << uint(j&63))
		case sqlparser.ShiftRightStr:
			return operators.Int(i >> uint(j&63))
		}
	}
	x, ok1 := a.Num()
	y, ok2 := b.Num()
	if !ok1 || !ok2 || a.IsNull() || b.IsNull() {
		return operators.Null()
	}
	switch op {
	case sqlparser.PlusStr:
		return operators.Float(x + y)
	case sqlparser.MinusStr:
		return operators.Float(x - y)
	case sqlparser.MultStr:
		return operators.Float(x * y)
	case sqlparser.DivStr:
		if y == 0 {
			return operators.Null()
		}
		return operators.Float(x / y)
	case sqlparser.ModStr:
		if y == 0 {
			return operators.Null()
		}
		return operators.Float(math.Mod(x, y))
	case sqlparser.IntDivStr:
		if y == 0 {
			return operators.Null()
		}
		return operators.Int(int64(x / y))
	}
	return arith(op, operators.Int(int64(x)), operators.Int(int64(y)))
}

func (c *compiler) unary(e *sqlparser.UnaryExpr) (operators.Expr, error) {
	x, err := c.compile(e.Expr)
	if err != nil {
		return nil, err
	}
	switch e.Operator {
	case sqlparser.UMinusStr:
		return func(row []operators.Value) operators.Value {
			v := x(row)
			switch v.Kind {
			case operators.KindInt:
				return operators.Int(-v.I)
			case operators.KindNull:
				return v
			}
			f, ok := v.Num()
			if !ok {
				return operators.Null()
			}
			return operators.Float(-f)
		}, nil
	case sqlparser.UPlusStr:
		return x, nil
	case sqlparser.BangStr:
		return not(x), nil
	case sqlparser.TildaStr:
		return func(row []operators.Value) operators.Value {
			i, ok := x(row).Int64()
			if !ok {
				return operators.Null()
			}
			return operators.Int(^i)
		}, nil
	}
	return nil, errorf(e.Operator, "unsupported operator %s", e.Operator)
}

func (c *compiler) caseExpr(e *sqlparser.CaseExpr) (operators.Expr, error) {
	var subject operators.Expr
	if e.Expr != nil {
		s, err := c.compile(e.Expr)
		if err != nil {
			return nil, err
		}
		subject = s
	}
	conds := make([]operators.Expr, len(e.Whens))
	vals := make([]operators.Expr, len(e.Whens))
	for i, w := range e.Whens {
		cond, err := c.compile(w.Cond)
		if err != nil {
			return nil, err
		}
		val, err := c.compile(w.Val)
		if err != nil {
			return nil, err
		}
		conds[i], vals[i] = cond, val
	}
	els := constant(operators.Null())
	if e.Else != nil {
		f, err := c.compile(e.Else)
		if err != nil {
			return nil, err
		}
		els = f
	}
	if subject == nil {
		return func(row []operators.Value) operators.Value {
			for i, cond := range conds {
				if cond(row).Truthy() {
					return vals[i](row)
				}
			}
			return els(row)
		}, nil
	}
	return func(row []operators.Value) operators.Value {
		s := subject(row)
		for i, cond := range conds {
			if s.Equal(cond(row)) {
				return vals[i](row)
			}
		}
		return els(row)
	}, nil
}

func (c *compiler) cast(e *sqlparser.ConvertExpr) (operators.Expr, error) {
	x, err := c.compile(e.Expr)
	if err != nil {
		return nil, err
	}
	// The parser's grammar knows only BINARY, CHAR, NCHAR, DATE, DATETIME,
	// DECIMAL, JSON, SIGNED, TIME and UNSIGNED (no DOUBLE or FLOAT).
	switch t := strings.ToLower(e.Type.Type); t {
	case "signed", "unsigned":
		return func(row []operators.Value) operators.Value {
			if i, ok := x(row).Int64(); ok {
				return operators.Int(i)
			}
			return operators.Null()
		}, nil
	case "decimal":
		return func(row []operators.Value) operators.Value {
			if f, ok := x(row).Num(); ok {
				return operators.Float(f)
			}
			return operators.Null()
		}, nil
	case "char", "nchar", "binary":
		return func(row []operators.Value) operators.Value {
			v := x(row)
			if v.IsNull() {
				return v
			}
			return operators.Str(v.Text())
		}, nil
	default:
		return nil, errorf(e.Type.Type, "cannot CAST to %s; use SIGNED, DECIMAL or CHAR", t)
	}
}

func (c *compiler) function(f *sqlparser.FuncExpr) (operators.Expr, error) {
	if e, ok, err := c.scope.function(f); ok || err != nil {
		return e, err
	}
	name := f.Name.String()
	lower := strings.ToLower(name)
	switch lower {
	case "tumble", "hop", "session", "cube", "rollup":
		return nil, errorf(name, "%s is only allowed in GROUP BY", strings.ToUpper(name))
	case "if":
		return c.ifFunc(f)
	case "session_id", "session_seq":
		return nil, errorf(name, "%s() is only available in the SELECT list of a statement with @Session(key=\"…\")", lower)
	}
	if _, ok := operators.LookupAggregate(lower); ok {
		return nil, errorf(name, "aggregate %s is not allowed here (only in SELECT, HAVING and ORDER BY of a grouped statement)", strings.ToUpper(name))
	}
	if f.Distinct {
		return nil, errorf("DISTINCT", "DISTINCT is only allowed in COUNT(DISTINCT x)")
	}
	args := make([]sqlparser.Expr, len(f.Exprs))
	for i, a := range f.Exprs {
		ae, ok := a.(*sqlparser.AliasedExpr)
		if !ok {
			return nil, errorf(name, "%s does not take *", strings.ToUpper(name))
		}
		args[i] = ae.Expr
	}
	return c.call(name, args)
}

// compileArgs compiles a list of expressions and, when every one is a
// constant, also folds them to their values (vals is nil otherwise).
// Constants fold outside the statement's scope: their compiled form may
// read a slot (a literal that is also a group key does), and there is no
// row to read at compile time.
func (c *compiler) compileArgs(args []sqlparser.Expr) (compiled []operators.Expr, vals []operators.Value, err error) {
	compiled = make([]operators.Expr, len(args))
	allConst := true
	for i, a := range args {
		if compiled[i], err = c.compile(a); err != nil {
			return nil, nil, err
		}
		allConst = allConst && isConst(a)
	}
	if !allConst {
		return compiled, nil, nil
	}
	vals = make([]operators.Value, len(args))
	for i, a := range args {
		if vals[i], err = fold(a); err != nil {
			return nil, nil, err
		}
	}
	return compiled, vals, nil
}

// call compiles a registered scalar function; calls with constant arguments
// are folded to their value at compile time.
func (c *compiler) call(name string, args []sqlparser.Expr) (operators.Expr, error) {
	fn, ok := operators.LookupScalar(name)
	if !ok {
		return nil, errorf(name, "unknown function %s%s", strings.ToUpper(name), suggest(strings.ToUpper(name), operators.FunctionNames()))
	}
	if len(args) < fn.MinArgs || (fn.MaxArgs >= 0 && len(args) > fn.MaxArgs) {
		return nil, errorf(name, "%s takes %s, got %d", strings.ToUpper(fn.Name), arity(fn.MinArgs, fn.MaxArgs), len(args))
	}
	compiled, vals, err := c.compileArgs(args)
	if err != nil {
		return nil, err
	}
	c.volatile = c.volatile || fn.Volatile
	if vals != nil && !fn.Volatile {
		return constant(fn.Eval(vals)), nil
	}
	buf := make([]operators.Value, len(args))
	return func(row []operators.Value) operators.Value {
		for i, x := range compiled {
			buf[i] = x(row)
		}
		return fn.Eval(buf)
	}, nil
}

func arity(min, max int) string {
	switch {
	case max < 0:
		return fmt.Sprintf("at least %d arguments", min)
	case min == max && min == 1:
		return "1 argument"
	case min == max:
		return fmt.Sprintf("%d arguments", min)
	}
	return fmt.Sprintf("%d to %d arguments", min, max)
}

func (c *compiler) ifFunc(f *sqlparser.FuncExpr) (operators.Expr, error) {
	if len(f.Exprs) != 3 {
		return nil, errorf("IF", "IF takes 3 arguments: IF(condition, then, else)")
	}
	var parts [3]operators.Expr
	for i, a := range f.Exprs {
		ae, ok := a.(*sqlparser.AliasedExpr)
		if !ok {
			return nil, errorf("IF", "IF does not take *")
		}
		x, err := c.compile(ae.Expr)
		if err != nil {
			return nil, err
		}
		parts[i] = x
	}
	return func(row []operators.Value) operators.Value {
		if parts[0](row).Truthy() {
			return parts[1](row)
		}
		return parts[2](row)
	}, nil
}
