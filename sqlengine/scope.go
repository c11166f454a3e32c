package sqlengine

import (
	"strings"

	"github.com/xwb1989/sqlparser"

	"sluice/operators"
)

// inputScope resolves names against the incoming event: every column
// reference becomes a slot that the statement's Extractor fills, so only the
// fields a statement uses are read from the JSON.
type inputScope struct {
	table string // the FROM stream's name or alias; a qualifier equal to it is dropped
	paths [][]string
	index map[string]int
}

func newInputScope(table string) *inputScope {
	return &inputScope{table: table, index: map[string]int{}}
}

// slot returns the slot of a field path, adding it if new.
func (s *inputScope) slot(path []string) int {
	key := strings.Join(path, "\x00")
	i, ok := s.index[key]
	if !ok {
		i = len(s.paths)
		s.index[key] = i
		s.paths = append(s.paths, path)
	}
	return i
}

func (s *inputScope) column(c *sqlparser.ColName) (operators.Expr, error) {
	return slotExpr(s.slot(colPath(c, s.table))), nil
}

func (s *inputScope) function(*sqlparser.FuncExpr) (operators.Expr, bool, error) {
	return nil, false, nil
}

func (s *inputScope) expression(sqlparser.Expr) (operators.Expr, bool) { return nil, false }

// colPath turns a column reference into a field path: a.b.c is the nested
// field a → b → c unless a names the FROM stream.
func colPath(c *sqlparser.ColName, table string) []string {
	var path []string
	for _, p := range []string{c.Qualifier.Qualifier.String(), c.Qualifier.Name.String(), c.Name.String()} {
		if p != "" {
			path = append(path, strings.Split(p, ".")...)
		}
	}
	if len(path) > 1 && path[0] == table {
		path = path[1:]
	}
	return path
}

// aggregate is one distinct aggregate call of a grouped statement.
type aggregate struct {
	text string // its SQL, to share identical calls
	spec operators.AggSpec
	fn   string
	// family and arg: calls of one family over one argument share state.
	family, arg string
}

// outputScope resolves names after grouping. The output-phase row is the
// group keys, then window_start and window_end, then the aggregates.
type outputScope struct {
	in      *compiler // compiles aggregate arguments against the event
	keys    map[string]int
	nkeys   int
	aliases map[string]sqlparser.Expr
	aggs    []*aggregate
	seen    map[string]bool // aliases being resolved, against cycles
	self    *compiler
}

func (s *outputScope) expression(e sqlparser.Expr) (operators.Expr, bool) {
	if i, ok := s.keys[sqlparser.String(e)]; ok {
		return slotExpr(i), true
	}
	return nil, false
}

func slotExpr(i int) operators.Expr {
	return func(row []operators.Value) operators.Value { return row[i] }
}

func (s *outputScope) column(c *sqlparser.ColName) (operators.Expr, error) {
	name := c.Name.String()
	if c.Qualifier.IsEmpty() {
		switch strings.ToLower(name) {
		case "window_start":
			return slotExpr(s.nkeys), nil
		case "window_end":
			return slotExpr(s.nkeys + 1), nil
		}
		if e, ok := s.aliases[name]; ok && !s.seen[name] {
			s.seen[name] = true
			defer delete(s.seen, name)
			return s.self.compile(e)
		}
	}
	return nil, errorf(name, "column %s must appear in GROUP BY or inside an aggregate such as FIRST(%s)", sqlparser.String(c), sqlparser.String(c))
}

func (s *outputScope) function(f *sqlparser.FuncExpr) (operators.Expr, bool, error) {
	name := strings.ToLower(f.Name.String())
	if f.Distinct {
		if name != "count" {
			return nil, true, errorf("DISTINCT", "DISTINCT is only allowed in COUNT(DISTINCT x)")
		}
		name = "count_distinct"
	}
	fn, ok := operators.LookupAggregate(name)
	if !ok {
		return nil, false, nil
	}
	text := sqlparser.String(f)
	for i, a := range s.aggs {
		if a.text == text {
			return slotExpr(s.nkeys + 2 + i), true, nil
		}
	}
	upper := strings.ToUpper(f.Name.String())
	var arg operators.Expr
	var params []operators.Value
	for i, se := range f.Exprs {
		switch e := se.(type) {
		case *sqlparser.StarExpr:
			if !fn.Star || i > 0 || len(f.Exprs) > 1 {
				return nil, true, errorf(f.Name.String(), "%s does not take *", upper)
			}
		case *sqlparser.AliasedExpr:
			if i == 0 {
				x, err := s.in.compile(e.Expr)
				if err != nil {
					return nil, true, err
				}
				arg = x
				continue
			}
			if !isConst(e.Expr) {
				return nil, true, errorf(f.Name.String(), "argument %d of %s must be a constant", i+1, upper)
			}
			v, err := fold(e.Expr)
			if err != nil {
				return nil, true, err
			}
			params = append(params, v)
		}
	}
	if want := 1 + fn.Params; len(f.Exprs) != want {
		return nil, true, errorf(f.Name.String(), "%s takes %d argument(s), got %d", upper, want, len(f.Exprs))
	}
	factory, err := fn.New(params)
	if err != nil {
		return nil, true, errorf(f.Name.String(), "%s: %v", upper, err)
	}
	a := &aggregate{text: text, fn: strings.ToUpper(fn.Name), spec: operators.AggSpec{Arg: arg, New: factory}}
	if fn.Shares != "" {
		a.family, a.arg = fn.Shares, sqlparser.String(f.Exprs[0])
		for i, b := range s.aggs {
			if b.family == a.family && b.arg == a.arg && b.spec.SharedWith == 0 {
				a.spec.SharedWith = i + 1
				break
			}
		}
	}
	s.aggs = append(s.aggs, a)
	return slotExpr(s.nkeys + 2 + len(s.aggs) - 1), true, nil
}

// isAggregateCall reports whether f calls an aggregate function.
func isAggregateCall(f *sqlparser.FuncExpr) bool {
	if f.Distinct {
		return true
	}
	_, ok := operators.LookupAggregate(f.Name.String())
	return ok
}

// hasAggregate reports whether any aggregate call appears in the nodes.
func hasAggregate(nodes ...sqlparser.SQLNode) bool {
	found := false
	for _, n := range nodes {
		if n == nil {
			continue
		}
		_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
			if f, ok := n.(*sqlparser.FuncExpr); ok && isAggregateCall(f) {
				found = true
				return false, nil
			}
			return !found, nil
		}, n)
	}
	return found
}

// sessionScope adds session_id() and session_seq() to a pass-through
// statement with @Session: they read the two slots after the extracted
// fields, where the SessionTagger writes (slot is known once every field is).
type sessionScope struct {
	*inputScope
	slot *int
}

func (s sessionScope) function(f *sqlparser.FuncExpr) (operators.Expr, bool, error) {
	slot, off := s.slot, 0
	switch strings.ToLower(f.Name.String()) {
	case "session_id":
	case "session_seq":
		off = 1
	default:
		return nil, false, nil
	}
	if len(f.Exprs) != 0 {
		return nil, true, errorf(f.Name.String(), "%s() takes no arguments", f.Name.String())
	}
	return func(row []operators.Value) operators.Value { return row[*slot+off] }, true, nil
}
