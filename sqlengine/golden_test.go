package sqlengine_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"sluice/operators"
	_ "sluice/plugins/functions"
	"sluice/sqlengine"
)

// Golden tests are scripts in testdata/golden/*.test, run through the real
// compiler and operators. A script is a list of directives, each on a line
// starting with "-- ", followed by its body lines:
//
//	-- statements              SQL text with annotations (the body)
//	-- input STREAM [at MS]    one event per body line, one batch; arrival time MS (default 0)
//	-- tick MS                 the wall clock reaches MS (idle streams advance)
//	-- finish                  end of input: every open window closes
//	-- output NAME             the exact rows NAME emitted, in order (JSON, one per line);
//	                           the hashes _key and session_id are compared only where
//	                           the expected row has them
//	-- late NAME N             NAME counted N late events
//	-- errors NAME N           NAME counted N errors
//	-- compile error           compiling the statements fails with this message (the
//	                           body's last line that is not blank)
//
// Lines starting with "#" are comments.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".test"), func(t *testing.T) { runGolden(t, f) })
	}
}

type directive struct {
	line int
	args []string
	body []string
}

func parseScript(t *testing.T, path string) []directive {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var ds []directive
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "-- "):
			ds = append(ds, directive{line: n, args: strings.Fields(line[3:])})
		case strings.HasPrefix(line, "#") && (len(ds) == 0 || ds[len(ds)-1].args[0] != "statements"):
		case len(ds) == 0:
			if strings.TrimSpace(line) != "" {
				t.Fatalf("%s:%d: text before the first directive", path, n)
			}
		default:
			ds[len(ds)-1].body = append(ds[len(ds)-1].body, line)
		}
	}
	return ds
}

type goldenQuery struct {
	spec     *operators.QuerySpec
	op       operators.Operator
	counters *operators.Counters
	rows     []map[string]any
}

type goldenRun struct {
	t       *testing.T
	queries []*goldenQuery
	byName  map[string]*goldenQuery
}

// feed processes a batch on a stream and, synchronously, everything the
// statements reading it write into other streams.
func (g *goldenRun) feed(stream string, batch []*operators.Record) {
	for _, q := range g.queries {
		if q.spec.Source == stream {
			q.op.Process(batch, g.emitter(q))
		}
	}
}

func (g *goldenRun) emitter(q *goldenQuery) operators.Emit {
	return func(rows []*operators.Record) {
		for _, r := range rows {
			var m map[string]any
			if err := json.Unmarshal(r.AppendJSON(nil), &m); err != nil {
				g.t.Fatalf("%s emitted invalid JSON %s: %v", q.spec.Name, r, err)
			}
			q.rows = append(q.rows, m)
		}
		if q.spec.Target != "" {
			g.feed(q.spec.Target, append([]*operators.Record(nil), rows...))
		}
	}
}

func runGolden(t *testing.T, path string) {
	g := &goldenRun{t: t, byName: map[string]*goldenQuery{}}
	for _, d := range parseScript(t, path) {
		where := fmt.Sprintf("%s:%d", filepath.Base(path), d.line)
		switch d.args[0] {
		case "statements":
			specs, err := sqlengine.Compile(strings.Join(d.body, "\n"))
			if err != nil {
				t.Fatalf("%s: compile: %v", where, err)
			}
			for _, s := range specs {
				q := &goldenQuery{spec: s, counters: &operators.Counters{}}
				q.op = s.Build(q.counters)
				g.queries = append(g.queries, q)
				g.byName[s.Name] = q
			}
		case "compile":
			// The message is the last line that is not blank.
			body := d.body
			for len(body) > 1 && strings.TrimSpace(body[len(body)-1]) == "" {
				body = body[:len(body)-1]
			}
			_, err := sqlengine.Compile(strings.Join(body[:len(body)-1], "\n"))
			want := body[len(body)-1]
			if err == nil || err.Error() != want {
				t.Errorf("%s: compile error\n got: %v\nwant: %s", where, err, want)
			}
		case "input":
			var arrival int64
			if len(d.args) == 4 && d.args[2] == "at" {
				arrival, _ = strconv.ParseInt(d.args[3], 10, 64)
			}
			var batch []*operators.Record
			for _, l := range d.body {
				if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
					continue
				}
				batch = append(batch, &operators.Record{Arrival: arrival, Raw: []byte(l)})
			}
			g.feed(d.args[1], batch)
		case "tick":
			now, _ := strconv.ParseInt(d.args[1], 10, 64)
			for _, q := range g.queries {
				q.op.Tick(now, g.emitter(q))
			}
		case "finish":
			for _, q := range g.queries {
				q.op.Finish(g.emitter(q))
			}
		case "output":
			q := g.query(where, d.args[1])
			var want []map[string]any
			for _, l := range d.body {
				if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
					continue
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("%s: bad expected row %s: %v", where, l, err)
				}
				want = append(want, m)
			}
			got := q.rows
			for i := range got {
				if i < len(want) {
					for _, hashed := range []string{"_key", "session_id"} {
						if _, ok := want[i][hashed]; !ok {
							delete(got[i], hashed)
						}
					}
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: output of %s\n got: %s\nwant: %s", where, d.args[1], rowsText(got), rowsText(want))
			}
			q.rows = nil
		case "late", "errors":
			q := g.query(where, d.args[1])
			n, _ := strconv.ParseUint(d.args[2], 10, 64)
			got := q.counters.Late.Load()
			if d.args[0] == "errors" {
				got = q.counters.Errors.Load()
			}
			if got != n {
				t.Errorf("%s: %s %s = %d, want %d", where, d.args[0], d.args[1], got, n)
			}
		default:
			t.Fatalf("%s: unknown directive %q", where, d.args[0])
		}
	}
}

func (g *goldenRun) query(where, name string) *goldenQuery {
	q, ok := g.byName[name]
	if !ok {
		g.t.Fatalf("%s: no statement named %s", where, name)
	}
	return q
}

func rowsText(rows []map[string]any) string {
	var b strings.Builder
	for _, r := range rows {
		j, _ := json.Marshal(r)
		b.WriteString("\n  ")
		b.Write(j)
	}
	return b.String()
}
