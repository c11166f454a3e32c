package sqlengine

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"sluice/operators"
)

// Compile-time limits keep a hostile statement from taking the server down.
const (
	maxCubeDims      = 8
	maxHopWindows    = 1000 // windows one event may fall into (size / slide)
	maxWindow        = 7 * 24 * time.Hour
	maxLimit         = 100_000
	maxRunningGroups = 1_000_000 // open groups of one statement
)

// planned is a statement turned into an operator, with its description.
type planned struct {
	source  string
	columns []string
	nodes   []operators.PlanNode
	shape   string
	op      operators.Operator
	// parallel: op is an Aggregate that runs as a Parallel (see plan).
	parallel bool
}

// windowSpec is the window named in GROUP BY.
type windowSpec struct {
	kind        operators.WindowKind
	size, slide time.Duration
	session     bool
	maxDuration time.Duration // SESSION only; 0: unlimited
	timeCol     sqlparser.Expr
	text        string
}

// plan builds a statement's operator. It runs once to validate and describe
// the statement and again for each fresh instance (deploy, replace), so
// every instance has its own closures and scratch space. A statement that
// runs as a Parallel is planned once more, for its second half.
func plan(sel *sqlparser.Select, o *options, spec *operators.QuerySpec, c *operators.Counters) (*planned, error) {
	p, err := planOne(sel, o, spec, c)
	if err != nil || !p.parallel {
		return p, err
	}
	other, err := planOne(sel, o, spec, &operators.Counters{})
	if err != nil {
		return nil, err
	}
	p.op = operators.NewParallel(p.op.(*operators.Aggregate), other.op.(*operators.Aggregate))
	return p, nil
}

func planOne(sel *sqlparser.Select, o *options, spec *operators.QuerySpec, c *operators.Counters) (*planned, error) {
	source, table, err := fromStream(sel)
	if err != nil {
		return nil, err
	}
	if sel.Distinct != "" {
		return nil, errorf("DISTINCT", "SELECT DISTINCT is not supported on a stream; use GROUP BY with a window")
	}
	in := newInputScope(table)
	inc := &compiler{scope: in}
	var where operators.Expr
	if sel.Where != nil {
		if where, err = inc.compile(sel.Where.Expr); err != nil {
			return nil, err
		}
	}
	p := &planned{source: source}
	grouped := len(sel.GroupBy) > 0 || hasAggregate(sel.SelectExprs, sel.Having, sel.OrderBy)
	switch {
	case o.affinity != "" && o.session != nil:
		return nil, errorf("@ClusterAffinity", "@ClusterAffinity keeps a grouped statement's state per Kafka partition; a @Session statement's sessions are not kept so")
	case grouped && o.session != nil:
		return nil, errorf("@Session", "@Session tags pass-through events; a grouped statement uses GROUP BY SESSION(ts, INTERVAL …), key instead")
	case grouped:
		err = planAggregate(p, sel, o, spec, c, in, inc, where)
	case o.affinity != "":
		return nil, errorf("@ClusterAffinity", "@ClusterAffinity needs a GROUP BY: it keeps a grouped statement's state per Kafka partition")
	default:
		err = planMap(p, sel, o, in, where, c)
	}
	if err != nil {
		return nil, err
	}
	p.nodes = describe(p, sel, spec, in)
	return p, nil
}

func fromStream(sel *sqlparser.Select) (source, table string, err error) {
	if len(sel.From) != 1 {
		return "", "", errorf("FROM", "read from exactly one stream (joins are not supported yet)")
	}
	t, ok := sel.From[0].(*sqlparser.AliasedTableExpr)
	if !ok {
		return "", "", errorf("JOIN", "joins are not supported yet; read from one stream")
	}
	name, ok := t.Expr.(sqlparser.TableName)
	if !ok {
		return "", "", errorf("SELECT", "FROM must name a stream, not a subquery")
	}
	source = name.Name.String()
	table = source
	if !t.As.IsEmpty() {
		table = t.As.String()
	}
	return source, table, nil
}

// columnName is a select item's output name.
func columnName(e *sqlparser.AliasedExpr) string {
	if !e.As.IsEmpty() {
		return e.As.String()
	}
	if c, ok := e.Expr.(*sqlparser.ColName); ok {
		return c.Name.String()
	}
	return sqlparser.String(e.Expr)
}

// isColumn reports whether e is the unqualified column name.
func isColumn(e sqlparser.Expr, name string) bool {
	c, ok := e.(*sqlparser.ColName)
	return ok && c.Qualifier.IsEmpty() && strings.EqualFold(c.Name.String(), name)
}

func planMap(p *planned, sel *sqlparser.Select, o *options, in *inputScope, where operators.Expr, counters *operators.Counters) error {
	switch {
	case sel.Having != nil:
		return errorf("HAVING", "HAVING needs GROUP BY or an aggregate")
	case len(sel.OrderBy) > 0:
		return errorf("ORDER", "ORDER BY needs a window (GROUP BY TUMBLE(…)): a stream has no end to sort")
	case sel.Limit != nil:
		return errorf("LIMIT", "LIMIT needs a window (GROUP BY TUMBLE(…)): a stream has no end")
	}
	tagSlot := new(int)
	c := &compiler{scope: in}
	if o.session != nil {
		c.scope = sessionScope{inputScope: in, slot: tagSlot}
	}
	m := &operators.Map{Where: where}
	seen := map[string]bool{}
	for _, se := range sel.SelectExprs {
		switch e := se.(type) {
		case *sqlparser.StarExpr:
			if m.Star {
				return errorf("*", "* appears twice")
			}
			m.Star = true
		case *sqlparser.AliasedExpr:
			name := columnName(e)
			if seen[name] {
				return errorf(name, "column %s appears twice; name one with AS", name)
			}
			seen[name] = true
			x, err := c.compile(e.Expr)
			if err != nil {
				return err
			}
			m.Columns = append(m.Columns, name)
			m.Project = append(m.Project, x)
		default:
			return errorf(sqlparser.String(se), "unsupported select item %s", sqlparser.String(se))
		}
	}
	if so := o.session; so != nil {
		t := &operators.SessionTagger{Gap: so.gap.Milliseconds(), MaxDuration: so.maxDur.Milliseconds(),
			Lateness: o.lateness.Milliseconds(), MaxSessions: maxRunningGroups, Counters: counters}
		if o.eventTime != nil {
			t.EventTime = slotExpr(in.slot(o.eventTime))
		}
		for _, k := range so.keys {
			t.Keys = append(t.Keys, slotExpr(in.slot(k)))
		}
		m.Sessions = t
		p.shape = fmt.Sprintf("session-tags|%v|%d|%d|%s", so.keys, so.gap.Milliseconds(), so.maxDur.Milliseconds(), strings.Join(o.eventTime, "."))
	}
	*tagSlot = len(in.paths)
	m.Extract = operators.NewExtractor(in.paths)
	p.columns = m.Columns
	if m.Star {
		p.columns = append([]string{"*"}, m.Columns...)
	}
	p.op = m
	return nil
}

// planAggregate plans a grouped statement; inc, over in, compiled its
// WHERE and compiles its per-event expressions: keys and aggregate
// arguments.
func planAggregate(p *planned, sel *sqlparser.Select, o *options, spec *operators.QuerySpec, c *operators.Counters, in *inputScope, inc *compiler, where operators.Expr) error {
	aliases := map[string]sqlparser.Expr{}
	for _, se := range sel.SelectExprs {
		e, ok := se.(*sqlparser.AliasedExpr)
		if !ok {
			return errorf("*", "SELECT * cannot be grouped; name the columns")
		}
		if !e.As.IsEmpty() {
			aliases[e.As.String()] = e.Expr
		}
	}
	win, keys, sets, err := groupBy(sel.GroupBy, aliases)
	if err != nil {
		return err
	}
	if o.affinity != "" && !affinityKey(o.affinity, keys, sets, in.table) {
		return errorf("@ClusterAffinity", "@ClusterAffinity key %q must be a GROUP BY key of every grouping set: the state of each key must stay in one Kafka partition", o.affinity)
	}
	if o.affinity != "" && (len(sel.OrderBy) > 0 || sel.Limit != nil) {
		return errorf("@ClusterAffinity", "@ClusterAffinity with ORDER BY or LIMIT: each Kafka partition would sort and cut only its own rows")
	}
	agg := &operators.Aggregate{KeyedInput: operators.KeyedInput{Where: where, Counters: c}, Query: &spec.Name, Sets: sets, Kind: win.kind,
		Size: win.size.Milliseconds(), Slide: win.slide.Milliseconds(), MaxGroups: maxRunningGroups}
	if o.eventTime != nil {
		agg.EventTime = slotExpr(in.slot(o.eventTime))
		if win.timeCol != nil && strings.Join(colPathOf(win.timeCol, in.table), ".") != strings.Join(o.eventTime, ".") {
			return errorf(sqlparser.String(win.timeCol), "%s uses %s but @EventTime names %s; use the same column",
				win.text, sqlparser.String(win.timeCol), strings.Join(o.eventTime, "."))
		}
	}
	agg.Lateness, agg.Idle = o.lateness.Milliseconds(), o.idle.Milliseconds()
	if o.lateUpdate {
		if win.kind == operators.NoWindow {
			return errorf("@EventTime", "late=\"update\" needs a TUMBLE or HOP window")
		}
		agg.LateFor = o.keep.Milliseconds()
		if agg.LateFor == 0 {
			agg.LateFor = 10 * agg.Size
		}
	}
	out := &outputScope{in: inc, keys: map[string]int{}, nkeys: len(keys), aliases: aliases, seen: map[string]bool{}}
	out.self = &compiler{scope: out}
	keyText := make([]string, len(keys))
	for i, k := range keys {
		x, err := inc.compile(k)
		if err != nil {
			return err
		}
		agg.Keys = append(agg.Keys, x)
		keyText[i] = sqlparser.String(k)
		out.keys[keyText[i]] = i
	}
	seen := map[string]bool{}
	for _, se := range sel.SelectExprs {
		e := se.(*sqlparser.AliasedExpr)
		name := columnName(e)
		if seen[name] || name == "_key" {
			return errorf(name, "column %s appears twice or is reserved; name it with AS", name)
		}
		// A window row starts with window_start and window_end, which
		// replace a select column of the same name: only the window's own
		// may be selected under those names.
		if (name == "window_start" || name == "window_end") && win.kind != operators.NoWindow && !isColumn(e.Expr, name) {
			return errorf(name, "column %s is part of every window row already; name yours differently", name)
		}
		seen[name] = true
		x, err := out.self.compile(e.Expr)
		if err != nil {
			return err
		}
		agg.Columns = append(agg.Columns, name)
		agg.Project = append(agg.Project, x)
	}
	if sel.Having != nil {
		if agg.Having, err = out.self.compile(sel.Having.Expr); err != nil {
			return err
		}
	}
	for _, ob := range sel.OrderBy {
		x, err := orderExpr(ob.Expr, sel.SelectExprs, out.self)
		if err != nil {
			return err
		}
		agg.Order = append(agg.Order, operators.OrderKey{Expr: x, Desc: ob.Direction == sqlparser.DescScr})
	}
	if sel.Limit != nil {
		if sel.Limit.Offset != nil {
			return errorf("OFFSET", "LIMIT with an offset is not supported")
		}
		n, err := intLiteral(sel.Limit.Rowcount)
		if err != nil || n < 1 || n > maxLimit {
			return errorf("LIMIT", "LIMIT takes a whole number from 1 to %d", maxLimit)
		}
		agg.Limit = int(n)
	}
	var aggText []string
	for _, a := range out.aggs {
		agg.Aggs = append(agg.Aggs, a.spec)
		aggText = append(aggText, a.text)
		if win.kind == operators.NoWindow && !win.session && unboundedWithoutWindow[a.fn] {
			return errorf(a.fn, "%s keeps state that grows without a window; add TUMBLE or HOP to GROUP BY", a.text)
		}
	}
	agg.Extract = operators.NewExtractor(in.paths)
	p.shape = fmt.Sprintf("%d:%d:%d:%v:%d|%s|%v|%s|%s", win.kind, agg.Size, agg.Slide, win.session, win.maxDuration.Milliseconds(),
		strings.Join(keyText, ","), sets, strings.Join(aggText, ","), strings.Join(o.eventTime, "."))
	if win.session {
		return planSessions(p, agg, win)
	}
	p.op = agg
	// Each half of a Parallel evaluates WHERE, the keys and the aggregate
	// arguments of every event: a volatile function there could answer
	// the halves differently, and their rollups would not add up.
	// A partitioned statement runs one Aggregate per partition instead.
	p.parallel = runtime.GOMAXPROCS(0) >= operators.ParallelCores && !inc.volatile &&
		o.affinity == "" && operators.Parallelizable(agg)
	p.columns = agg.Schema().Names
	return nil
}

// affinityKey reports whether key names a column grouped by in every
// grouping set: a group whose key is rolled up would hold events of
// several partitions.
func affinityKey(key string, keys []sqlparser.Expr, sets [][]int, table string) bool {
	k := slices.IndexFunc(keys, func(e sqlparser.Expr) bool {
		c, ok := e.(*sqlparser.ColName)
		return ok && strings.Join(colPath(c, table), ".") == key
	})
	if k < 0 {
		return false
	}
	for _, set := range sets {
		if !slices.Contains(set, k) {
			return false
		}
	}
	return true
}

// planSessions turns a grouped statement with a SESSION window into the
// session operator.
func planSessions(p *planned, agg *operators.Aggregate, win windowSpec) error {
	if agg.Order != nil || agg.Limit > 0 {
		return errorf("ORDER", "ORDER BY and LIMIT do not apply to SESSION windows")
	}
	for _, c := range agg.Columns {
		for _, auto := range operators.SessionColumns {
			if c == auto {
				return errorf(c, "column %s is part of every session row already; name yours differently", c)
			}
		}
	}
	s := &operators.Sessions{
		KeyedInput: agg.KeyedInput,
		Lateness:   agg.Lateness, Idle: agg.Idle,
		Gap: win.size.Milliseconds(), MaxDuration: win.maxDuration.Milliseconds(),
		Having: agg.Having, Columns: agg.Columns, Project: agg.Project,
		MaxSessions: maxRunningGroups,
	}
	p.op = s
	p.columns = s.Schema().Names
	return nil
}

// Sketch aggregates grow per key; without a window they would never be freed.
var unboundedWithoutWindow = map[string]bool{"COUNT_DISTINCT": true, "PERCENTILE": true, "TOPK": true, "MEDIAN": true}

// orderExpr compiles an ORDER BY term: a select alias, a 1-based select
// position, or an expression.
func orderExpr(e sqlparser.Expr, items sqlparser.SelectExprs, c *compiler) (operators.Expr, error) {
	if v, ok := e.(*sqlparser.SQLVal); ok && v.Type == sqlparser.IntVal {
		n, _ := strconv.Atoi(string(v.Val))
		if n < 1 || n > len(items) {
			return nil, errorf(string(v.Val), "ORDER BY %d: there are %d select items", n, len(items))
		}
		return c.compile(items[n-1].(*sqlparser.AliasedExpr).Expr)
	}
	return c.compile(e)
}

func intLiteral(e sqlparser.Expr) (int64, error) {
	v, ok := e.(*sqlparser.SQLVal)
	if !ok || v.Type != sqlparser.IntVal {
		return 0, fmt.Errorf("not an integer")
	}
	return strconv.ParseInt(string(v.Val), 10, 64)
}

func colPathOf(e sqlparser.Expr, table string) []string {
	if c, ok := e.(*sqlparser.ColName); ok {
		return colPath(c, table)
	}
	return []string{sqlparser.String(e)}
}

// groupBy reads the window, the keys and the grouping sets of GROUP BY.
// Plain keys are in every grouping set; CUBE(a, b) adds every subset of its
// dimensions, ROLLUP(a, b) every prefix. A name that is a select alias
// groups by the aliased expression.
func groupBy(items sqlparser.GroupBy, aliases map[string]sqlparser.Expr) (windowSpec, []sqlparser.Expr, [][]int, error) {
	var win windowSpec
	var keys []sqlparser.Expr
	index := map[string]int{}
	addKey := func(e sqlparser.Expr) int {
		if c, ok := e.(*sqlparser.ColName); ok && c.Qualifier.IsEmpty() {
			if a, ok := aliases[c.Name.String()]; ok && !hasAggregate(a) {
				e = a
			}
		}
		s := sqlparser.String(e)
		if i, ok := index[s]; ok {
			return i
		}
		index[s] = len(keys)
		keys = append(keys, e)
		return len(keys) - 1
	}
	var plain, dims []int
	rollup, multi := false, ""
	for _, item := range items {
		f, ok := item.(*sqlparser.FuncExpr)
		if !ok {
			plain = append(plain, addKey(item))
			continue
		}
		name := strings.ToUpper(f.Name.String())
		switch name {
		case "TUMBLE", "HOP", "SESSION":
			if win.text != "" {
				return win, nil, nil, errorf(name, "GROUP BY has two windows (%s and %s)", win.text, name)
			}
			w, err := window(name, f)
			if err != nil {
				return win, nil, nil, err
			}
			win = w
		case "CUBE", "ROLLUP":
			if multi != "" {
				return win, nil, nil, errorf(name, "GROUP BY has both %s and %s; use one", multi, name)
			}
			multi, rollup = name, name == "ROLLUP"
			if len(f.Exprs) == 0 || len(f.Exprs) > maxCubeDims {
				return win, nil, nil, errorf(name, "%s takes 1 to %d columns", name, maxCubeDims)
			}
			for _, a := range f.Exprs {
				ae, ok := a.(*sqlparser.AliasedExpr)
				if !ok {
					return win, nil, nil, errorf(name, "%s takes columns, not *", name)
				}
				dims = append(dims, addKey(ae.Expr))
			}
		default:
			if isAggregateCall(f) {
				return win, nil, nil, errorf(f.Name.String(), "cannot GROUP BY an aggregate")
			}
			plain = append(plain, addKey(item))
		}
	}
	if win.session && multi != "" {
		return win, nil, nil, errorf(multi, "%s cannot be combined with SESSION windows", multi)
	}
	if multi == "" {
		return win, keys, nil, nil
	}
	var sets [][]int
	if rollup {
		for n := len(dims); n >= 0; n-- {
			sets = append(sets, append(append([]int(nil), plain...), dims[:n]...))
		}
		return win, keys, sets, nil
	}
	// CUBE: every subset, the fullest first.
	for size := len(dims); size >= 0; size-- {
		for mask := (1 << len(dims)) - 1; mask >= 0; mask-- {
			if popcount(mask) != size {
				continue
			}
			set := append([]int(nil), plain...)
			for d := range dims {
				if mask&(1<<(len(dims)-1-d)) != 0 {
					set = append(set, dims[d])
				}
			}
			sets = append(sets, set)
		}
	}
	return win, keys, sets, nil
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// window reads TUMBLE(t, INTERVAL n unit), HOP(t, INTERVAL slide, INTERVAL
// size) or SESSION(t, INTERVAL gap).
func window(name string, f *sqlparser.FuncExpr) (windowSpec, error) {
	want := map[string]int{"TUMBLE": 2, "HOP": 3, "SESSION": 2}[name]
	usage := map[string]string{
		"TUMBLE":  "TUMBLE(ts, INTERVAL 10 SECOND)",
		"HOP":     "HOP(ts, INTERVAL 5 SECOND, INTERVAL 1 MINUTE) — slide, then size",
		"SESSION": "SESSION(ts, INTERVAL 30 MINUTE[, INTERVAL 4 HOUR]) — gap, then optional longest duration",
	}[name]
	if len(f.Exprs) != want && !(name == "SESSION" && len(f.Exprs) == 3) {
		return windowSpec{}, errorf(f.Name.String(), "%s takes %d arguments: %s", name, want, usage)
	}
	w := windowSpec{text: name}
	var durs []time.Duration
	for i, a := range f.Exprs {
		ae, ok := a.(*sqlparser.AliasedExpr)
		if !ok {
			return w, errorf(f.Name.String(), "usage: %s", usage)
		}
		if i == 0 {
			w.timeCol = ae.Expr
			continue
		}
		d, err := interval(ae.Expr)
		if err != nil {
			return w, errorf(f.Name.String(), "%s: %v; usage: %s", name, err, usage)
		}
		durs = append(durs, d)
	}
	switch name {
	case "TUMBLE":
		w.kind, w.size = operators.Tumble, durs[0]
	case "HOP":
		w.kind, w.slide, w.size = operators.Hop, durs[0], durs[1]
		if w.size%w.slide != 0 || w.size/w.slide > maxHopWindows {
			return w, errorf(f.Name.String(), "HOP size must be a multiple of the slide, at most %d slides", maxHopWindows)
		}
	case "SESSION":
		w.session, w.size = true, durs[0]
		if len(durs) == 2 {
			w.maxDuration = durs[1]
		}
	}
	return w, nil
}

var units = map[string]time.Duration{
	"millisecond": time.Millisecond, "second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour,
}

func interval(e sqlparser.Expr) (time.Duration, error) {
	iv, ok := e.(*sqlparser.IntervalExpr)
	if !ok {
		return 0, fmt.Errorf("expected INTERVAL n unit")
	}
	unit, ok := units[strings.TrimSuffix(strings.ToLower(iv.Unit), "s")]
	if !ok {
		return 0, fmt.Errorf("unknown interval unit %s (use MILLISECOND, SECOND, MINUTE, HOUR or DAY)", iv.Unit)
	}
	v, ok := iv.Expr.(*sqlparser.SQLVal)
	if !ok {
		return 0, fmt.Errorf("the interval must be a number")
	}
	text := strings.Trim(string(v.Val), "'\"")
	n, err := strconv.ParseInt(text, 10, 64)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(text, "-") {
		n, err = math.MaxInt64, nil // too long: refused below
	}
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("the interval must be a positive whole number")
	}
	// Compare n before multiplying: n * unit can overflow to a zero or
	// negative size, which the window operators would divide by. With
	// n >= 1 and whole-millisecond units, no size is under 1 ms.
	if n > int64(maxWindow/unit) {
		return 0, fmt.Errorf("INTERVAL %s %s is too long: windows are at most %s", text, iv.Unit, maxWindow)
	}
	return time.Duration(n) * unit, nil
}
