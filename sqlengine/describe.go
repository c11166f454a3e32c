package sqlengine

import (
	"fmt"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"sluice/operators"
)

// describe lists a statement's operators for the API and console: source,
// field extraction, filter, grouping, ordering, projection and outputs.
func describe(p *planned, sel *sqlparser.Select, spec *operators.QuerySpec, in *inputScope) []operators.PlanNode {
	var nodes []operators.PlanNode
	add := func(op, detail string) {
		n := operators.PlanNode{ID: len(nodes) + 1, Op: op, Detail: detail}
		if n.ID > 1 {
			n.Inputs = []int{n.ID - 1}
		}
		nodes = append(nodes, n)
	}
	add("source", "stream "+p.source)
	fields := make([]string, len(in.paths))
	for i, path := range in.paths {
		fields[i] = strings.Join(path, ".")
	}
	add("extract", "fields "+strings.Join(fields, ", "))
	if sel.Where != nil {
		add("filter", sqlparser.String(sel.Where.Expr))
	}
	if spec.Affinity != "" {
		add("partition", fmt.Sprintf("state kept per Kafka partition (%s), affinity key %s", operators.PartitionField, spec.Affinity))
	}
	switch op := p.op.(type) {
	case *operators.Aggregate:
		detail := aggregateDetail(op, sel)
		if p.parallel {
			detail += "; grouping sets in two halves that run in parallel"
		}
		add("aggregate", detail)
		if sel.Having != nil {
			add("having", sqlparser.String(sel.Having.Expr))
		}
		if len(sel.OrderBy) > 0 || sel.Limit != nil {
			add("top-n", strings.TrimSpace(sqlparser.String(sel.OrderBy)+sqlparser.String(sel.Limit))+" per window")
		}
		add("project", strings.Join(op.Schema().Names, ", "))
	case *operators.Sessions:
		detail := fmt.Sprintf("sessions closed after %s idle", time.Duration(op.Gap)*time.Millisecond)
		if op.MaxDuration > 0 {
			detail += fmt.Sprintf(" or %s long", time.Duration(op.MaxDuration)*time.Millisecond)
		}
		add("sessionize", detail+"; "+strings.TrimSpace(sqlparser.String(sel.GroupBy)))
		add("project", strings.Join(op.Schema().Names, ", "))
	case *operators.Map:
		add("project", strings.Join(p.columns, ", "))
	}
	if spec.Target != "" {
		add("insert", "stream "+spec.Target)
	}
	for _, s := range spec.Sinks {
		add("sink", s.Type)
	}
	return nodes
}

func aggregateDetail(a *operators.Aggregate, sel *sqlparser.Select) string {
	var b strings.Builder
	switch a.Kind {
	case operators.Tumble:
		fmt.Fprintf(&b, "tumbling %s", time.Duration(a.Size)*time.Millisecond)
	case operators.Hop:
		fmt.Fprintf(&b, "hopping %s every %s", time.Duration(a.Size)*time.Millisecond, time.Duration(a.Slide)*time.Millisecond)
	default:
		b.WriteString("running totals")
	}
	if a.EventTime != nil {
		fmt.Fprintf(&b, " on event time, lateness %s", time.Duration(a.Lateness)*time.Millisecond)
	} else {
		b.WriteString(" on arrival time")
	}
	fmt.Fprintf(&b, "; %s", strings.TrimSpace(sqlparser.String(sel.GroupBy)))
	if len(a.Sets) > 0 {
		fmt.Fprintf(&b, " (%d grouping sets)", len(a.Sets))
	}
	return b.String()
}
