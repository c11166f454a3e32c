// Package sqlengine compiles sluice's SQL dialect into operator graphs:
// annotations are stripped by a small pre-parser, statements are parsed by
// xwb1989/sqlparser, names and aggregates are analysed, and expressions are
// compiled once into closures.
package sqlengine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/xwb1989/sqlparser"

	"sluice/operators"
)

// Compile turns a submission — one or more statements separated by ';',
// each preceded by its annotations — into statements ready to run. All
// problems are reported together, each with its statement, line and column.
func Compile(src string) ([]*operators.QuerySpec, error) {
	pieces, err := split(src)
	if err != nil {
		return nil, err
	}
	if len(pieces) == 0 {
		return nil, ErrorList{{Statement: 1, Position: Position{1, 1}, Msg: "no statement found"}}
	}
	var specs []*operators.QuerySpec
	var errs ErrorList
	names := map[string]int{}
	for _, p := range pieces {
		spec, cerr := compilePiece(src, p)
		if cerr != nil {
			errs = append(errs, cerr)
			continue
		}
		if first, dup := names[spec.Name]; dup {
			errs = append(errs, &CompileError{Statement: p.index, Name: spec.Name, Position: positionOf(src, p.offset+leadingSpace(p.sql)),
				Msg: fmt.Sprintf("statement %d is also named %q; names must be unique", first, spec.Name)})
			continue
		}
		names[spec.Name] = p.index
		specs = append(specs, spec)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return specs, nil
}

func leadingSpace(s string) int { return len(s) - len(strings.TrimLeft(s, " \t\r\n")) }

// compilePiece compiles one statement.
func compilePiece(src string, p *piece) (*operators.QuerySpec, *CompileError) {
	opts, cerr := readOptions(p.annotations)
	if cerr != nil {
		cerr.Statement = p.index
		return nil, cerr
	}
	name := opts.name
	if name == "" {
		sum := sha256.Sum256([]byte(strings.TrimSpace(p.sql)))
		name = "query_" + hex.EncodeToString(sum[:4])
	}
	fail := func(err error) *CompileError {
		ce := &CompileError{Statement: p.index, Name: name, Msg: err.Error()}
		var ee *exprError
		if errors.As(err, &ee) {
			ce.Token = ee.token
			if a := annotationNamed(p.annotations, ee.token); a != nil {
				ce.Position = a.Pos
			} else if off, ok := locate(p.sql, ee.token); ok {
				ce.Position = positionOf(src, p.offset+off)
			}
		}
		if ce.Line == 0 {
			ce.Position = positionOf(src, p.offset+leadingSpace(p.sql))
		}
		return ce
	}
	stmt, err := sqlparser.Parse(p.sql)
	if err != nil {
		return nil, syntaxError(src, p, name, err)
	}
	var sel *sqlparser.Select
	target := ""
	switch s := stmt.(type) {
	case *sqlparser.Select:
		sel = s
	case *sqlparser.Insert:
		rows, ok := s.Rows.(*sqlparser.Select)
		if !ok || len(s.Columns) > 0 || s.Action != sqlparser.InsertStr {
			return nil, fail(errorf("INSERT", "only INSERT INTO stream SELECT … is supported"))
		}
		sel, target = rows, s.Table.Name.String()
	case *sqlparser.Union:
		return nil, fail(errorf("UNION", "UNION is not supported; INSERT INTO one stream from several statements instead"))
	default:
		return nil, fail(errorf(firstWord(strings.TrimSpace(p.sql)), "only SELECT and INSERT INTO … SELECT statements can run"))
	}
	spec := &operators.QuerySpec{
		Name:        name,
		SQL:         strings.TrimSpace(src[p.offset : p.offset+len(p.sql)]),
		Description: opts.description,
		Target:      target,
		Sinks:       opts.sinks,
		Widget:      opts.widget,
		Annotations: opts.raw,
		Affinity:    opts.affinity,
	}
	pl, err := planOne(sel, opts, spec, &operators.Counters{}) // validates and describes; Build makes the operators
	if err != nil {
		return nil, fail(err)
	}
	if target != "" && target == pl.source {
		return nil, fail(errorf(target, "INSERT INTO %s reads and writes the same stream", target))
	}
	spec.Source = pl.source
	spec.Columns = pl.columns
	spec.Plan = pl.nodes
	spec.StateShape = pl.shape
	if opts.affinity != "" {
		// Per-partition state moves only to a statement that keeps it so.
		spec.StateShape = "partitioned:" + pl.shape
	}
	if cerr := checkSinks(opts, spec); cerr != nil {
		cerr.Statement, cerr.Name = p.index, name
		return nil, cerr
	}
	spec.Build = func(c *operators.Counters) operators.Operator {
		build := func() operators.Operator {
			p, err := plan(sel, opts, spec, c)
			if err != nil {
				panic("sqlengine: a compiled statement failed to build: " + err.Error())
			}
			return p.op
		}
		if opts.affinity == "" {
			return build()
		}
		// One operator per Kafka partition, all adding to the statement's
		// counters.
		return operators.NewPartitioned(build)
	}
	return spec, nil
}

// annotationNamed is the annotation a token such as "@EventTime" names, if
// the statement has it: errors about an annotation point at it.
func annotationNamed(anns []*Annotation, token string) *Annotation {
	name, ok := strings.CutPrefix(token, "@")
	if !ok {
		return nil
	}
	for _, a := range anns {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

var syntaxPos = regexp.MustCompile(`at position (\d+)(?: near '(.*)')?`)

// syntaxError turns sqlparser's "syntax error at position N near 'x'" into
// a line and column in the submission.
func syntaxError(src string, p *piece, name string, err error) *CompileError {
	ce := &CompileError{Statement: p.index, Name: name, Msg: err.Error()}
	m := syntaxPos.FindStringSubmatch(err.Error())
	if m == nil {
		ce.Position = positionOf(src, p.offset+leadingSpace(p.sql))
		return ce
	}
	pos, _ := strconv.Atoi(m[1])
	tok := m[2]
	// The position is one past the end of the offending token.
	start := pos - 1 - max(len(tok), 1)
	start = max(0, min(start, len(p.sql)))
	ce.Position = positionOf(src, p.offset+start)
	ce.Token = tok
	if tok != "" {
		ce.Msg = fmt.Sprintf("syntax error near %q", tok)
	} else {
		ce.Msg = "syntax error"
	}
	return ce
}

// locate finds the byte offset of the first token equal to tok (ignoring
// case) in a statement, skipping strings and comments.
func locate(sql, tok string) (int, bool) {
	if tok == "" {
		return 0, false
	}
	t := sqlparser.NewStringTokenizer(sql)
	for {
		typ, val := t.Scan()
		if typ == 0 || typ == sqlparser.LEX_ERROR {
			return 0, false
		}
		if strings.EqualFold(string(val), tok) {
			start := t.Position - 1 - len(val)
			if typ == sqlparser.STRING {
				start -= 2
			}
			return max(start, 0), true
		}
	}
}
