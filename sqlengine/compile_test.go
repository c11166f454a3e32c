package sqlengine_test

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sluice/operators"
	_ "sluice/plugins/functions"
	_ "sluice/plugins/sinks/redis"
	_ "sluice/plugins/sinks/stdout"
	"sluice/sqlengine"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the whole first error
		line int
		col  int
	}{
		{"misspelt function", "@Name(\"m\")\nSELECT country,\n       PERCENTLE(latency_ms, 95) AS p\nFROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country",
			"statement 1 (m) line 3, column 8: unknown function PERCENTLE; did you mean PERCENTILE?", 3, 8},
		{"syntax", "SELECT a\nFROM s\nWHERE a = = 1", "statement 1 (query_", 3, 11},
		{"unknown annotation", "@Nmae(\"x\")\nSELECT a FROM s", "statement 1 line 1, column 1: unknown annotation @Nmae; did you mean Name?", 1, 1},
		{"unknown sink", "@Sink(type=\"elasticsaerch\")\nSELECT a FROM s", "unknown sink type \"elasticsaerch\"", 1, 1},
		{"second statement", "SELECT a FROM s;\n\n@Name(\"two\")\nSELECT b FROM s WHERE COUNT(*) > 1", "statement 2 (two) line 4, column 23: aggregate COUNT is not allowed here", 4, 23},
		{"ungrouped column", "@Name(\"g\")\nSELECT page, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 1 MINUTE)", "column page must appear in GROUP BY", 2, 8},
		{"unbounded distinct", "@Name(\"u\")\nSELECT page, COUNT(DISTINCT user_id) AS u FROM s GROUP BY page", "COUNT(distinct user_id) keeps state that grows without a window", 0, 0},
		{"event time mismatch", "@Name(\"e\")\n@EventTime(column=\"ts\")\nSELECT COUNT(*) AS n FROM s GROUP BY TUMBLE(created, INTERVAL 1 SECOND)", "TUMBLE uses created but @EventTime names ts", 0, 0},
		{"bad interval", "SELECT COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 FORTNIGHT)", "unknown interval unit FORTNIGHT", 0, 0},
		{"order without window", "SELECT a FROM s ORDER BY a", "ORDER BY needs a window", 0, 0},
		{"duplicate names", "@Name(\"x\")\nSELECT a FROM s;\n@Name(\"x\")\nSELECT b FROM s", "statement 1 is also named \"x\"", 0, 0},
		{"cast type", "@Name(\"c\")\nSELECT CAST(a AS DATE) AS d FROM s", "statement 1 (c) line 2, column 18: cannot CAST to date; use SIGNED, DECIMAL or CHAR", 2, 18},
		{"wrong arity", "SELECT UPPER(a, b) AS u FROM s", "UPPER takes 1 argument, got 2", 0, 0},
		{"self insert", "INSERT INTO s SELECT * FROM s", "reads and writes the same stream", 0, 0},
		{"session on a grouped statement", "@Session(key=\"user_id\")\nSELECT user_id, COUNT(*) AS n FROM s GROUP BY user_id", "@Session tags pass-through events", 1, 1},
		{"aggregate parameter", "@Name(\"k\")\nSELECT TOPK(page, 0) AS t FROM s GROUP BY TUMBLE(ts, INTERVAL 1 SECOND)", "statement 1 (k) line 2, column 8: TOPK: k must be an integer in [1, 1000], got 0", 2, 8},
		{"bad lateness", "@EventTime(column=\"ts\", lateness=\"soon\")\nSELECT a FROM s", "@EventTime lateness=\"soon\" is not a duration", 1, 1},
		// Errors about an annotation point at it.
		{"late update without a window", "@Name(\"l\")\n@EventTime(column=\"ts\", late=\"update\")\nSELECT a, COUNT(*) AS n FROM s GROUP BY a", "late=\"update\" needs a TUMBLE or HOP window", 2, 1},
		{"blank affinity key", "@ClusterAffinity(key=\" \")\nSELECT a, COUNT(*) AS n FROM s GROUP BY a", "@ClusterAffinity needs key=", 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlengine.Compile(tc.src)
			var list sqlengine.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("want a compile error, got %v", err)
			}
			first := list[0]
			msg := first.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("got %q, want it to contain %q", msg, tc.want)
			}
			if tc.line > 0 && (first.Line != tc.line || first.Column != tc.col) {
				t.Errorf("at line %d column %d, want %d:%d (%s)", first.Line, first.Column, tc.line, tc.col, msg)
			}
		})
	}
}

func TestCompileSpec(t *testing.T) {
	specs, err := sqlengine.Compile(`
-- Views per page, a widget and a sink.
@Name("page_views")
@Description("views per page")
@EventTime(column="ts", lateness="5s")
@Widget(type="timeseries", title="Views", value="views", series="page")
@Sink(type="stdout")
SELECT page, COUNT(*) AS views FROM events WHERE NOT is_bot(ua)
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page;

INSERT INTO mobile SELECT * FROM events WHERE device_type(ua) = 'mobile'`)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 {
		t.Fatalf("%d specs", len(specs))
	}
	s := specs[0]
	if s.Name != "page_views" || s.Source != "events" || s.Description != "views per page" || s.Widget["series"] != "page" {
		t.Errorf("spec %+v", s)
	}
	if got := strings.Join(s.Columns, ","); got != "window_start,window_end,page,views,_key" {
		t.Errorf("columns %s", got)
	}
	var ops []string
	for _, n := range s.Plan {
		ops = append(ops, n.Op)
	}
	if got := strings.Join(ops, ","); got != "source,extract,filter,aggregate,project,sink" {
		t.Errorf("plan %s", got)
	}
	if !strings.Contains(s.Plan[1].Detail, "fields ua, ts, page") {
		t.Errorf("extract detail %q", s.Plan[1].Detail)
	}
	m := specs[1]
	if !strings.HasPrefix(m.Name, "query_") || m.Target != "mobile" || m.StateShape != "" || m.Columns[0] != "*" {
		t.Errorf("insert spec %+v", m)
	}
}

func TestStateShape(t *testing.T) {
	shape := func(src string) string {
		specs, err := sqlengine.Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		return specs[0].StateShape
	}
	base := shape("SELECT page, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page")
	if base == "" {
		t.Fatal("aggregate has no state shape")
	}
	same := shape("SELECT page, COUNT(*) AS views FROM s WHERE page <> '/' GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page HAVING COUNT(*) > 1")
	if same != base {
		t.Errorf("a new filter, alias and HAVING keep the shape: %q vs %q", same, base)
	}
	for _, changed := range []string{
		"SELECT page, SUM(x) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page",
		"SELECT page, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 1 MINUTE), page",
		"SELECT device, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), device",
	} {
		if shape(changed) == base {
			t.Errorf("%s: shape should change", changed)
		}
	}
}

func TestSinkArgumentsAreCheckedAtCompileTime(t *testing.T) {
	_, err := sqlengine.Compile("@Name(\"dau\")\n@Sink(type=\"redis\", mode=\"set\", key=\"dau:{date}\", member=\"device_id\")\nSELECT mid, TO_DATE(ts) AS date FROM s")
	if err == nil || !strings.Contains(err.Error(), "line 2, column 1") || !strings.Contains(err.Error(), "device_id") {
		t.Fatalf("got %v, want an error at the @Sink naming the unknown column", err)
	}
	// Only the missing --redis-url is not a compile error.
	if _, err := sqlengine.Compile("@Sink(type=\"redis\", mode=\"set\", key=\"dau:{date}\", member=\"mid\")\nSELECT mid, TO_DATE(ts) AS date FROM s"); err != nil {
		t.Fatal(err)
	}
}

// Quantiles of one argument keep its values once; other arguments and
// other aggregates keep their own state.
func TestPercentilesShareState(t *testing.T) {
	specs, err := sqlengine.Compile(`SELECT PERCENTILE(ms, 50) AS p50, COUNT(*) AS n, PERCENTILE(ms, 95) AS p95,
       MEDIAN(ms) AS med, PERCENTILE(ms * 2, 50) AS p50x2, MEDIAN(ms * 2) AS medx2
FROM calls GROUP BY TUMBLE(ts, INTERVAL 10 SECOND)`)
	if err != nil {
		t.Fatal(err)
	}
	agg, ok := specs[0].Build(&operators.Counters{}).(*operators.Aggregate)
	if !ok {
		t.Fatal("not an Aggregate")
	}
	var got []int
	for _, a := range agg.Aggs {
		got = append(got, a.SharedWith)
	}
	if want := []int{0, 0, 1, 1, 0, 5}; !slices.Equal(got, want) {
		t.Errorf("SharedWith %v, want %v", got, want)
	}
}

// A pass-through statement reads only the fields it uses: @EventTime alone
// adds none, @Session adds its event time and keys.
func TestPassThroughExtractsOnlyWhatItUses(t *testing.T) {
	for src, want := range map[string]string{
		"@EventTime(column=\"ts\")\nSELECT page FROM s":                                                "fields page",
		"@EventTime(column=\"ts\") @Session(key=\"user_id\")\nSELECT page, session_id() AS sid FROM s": "fields page, ts, user_id",
	} {
		specs, err := sqlengine.Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := specs[0].Plan[1].Detail; got != want {
			t.Errorf("%s: extract %q, want %q", src, got, want)
		}
	}
}

// A literal that is also a group key folds like any constant: GROUP BY 0
// groups everything together, (0) is 0, and constant IN lists and function
// arguments that hold it are folded too.
func TestConstantThatIsAGroupKey(t *testing.T) {
	spec := compileOne(t, `SELECT (0) AS z, 0 AS k, 1 IN (0, 2) AS i, 0 IN (0, 2) AS j, ABS(0) AS a, COUNT(*) AS n
		FROM s GROUP BY 0 HAVING 0 IN (0, 2) AND ABS(0) = 0`)
	var rows []string
	op := spec.Build(&operators.Counters{})
	op.Process([]*operators.Record{{Raw: []byte(`{"a":1}`)}, {Raw: []byte(`{"a":2}`)}}, collectRows(&rows))
	if len(rows) != 1 || !strings.HasPrefix(rows[0], `{"z":0,"k":0,"i":false,"j":true,"a":0,"n":2,`) {
		t.Fatalf("rows %v", rows)
	}
}

// With cores to spare, a windowed CUBE of three or more keys runs as a
// Parallel, and its plan says so; with a LIMIT (a top-N across every
// grouping set) or a volatile function on each event it does not, nor on
// fewer cores.
func TestCubeRunsInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(operators.ParallelCores))
	for src, want := range map[string]bool{
		"SELECT a, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b, c)":          true,
		"SELECT a, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b, c) LIMIT 10": false,
		"SELECT a, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b)":             false,
		// Volatile per event: the halves could see different answers.
		"SELECT a, COUNT(*) AS n FROM s WHERE ts < NOW() GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b, c)": false,
		"SELECT a, SUM(NOW() - ts) AS age FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b, c)":         false,
		// A volatile projection runs once per row, in either half: fine.
		"SELECT a, NOW() AS at FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b, c)": true,
	} {
		specs, err := sqlengine.Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		_, parallel := specs[0].Build(&operators.Counters{}).(*operators.Parallel)
		described := false
		for _, n := range specs[0].Plan {
			described = described || strings.Contains(n.Detail, "two halves that run in parallel")
		}
		if parallel != want || described != want {
			t.Errorf("%s: runs in parallel %v, plan says so %v; want %v", src, parallel, described, want)
		}
	}
	runtime.GOMAXPROCS(operators.ParallelCores - 1)
	specs, err := sqlengine.Compile("SELECT a, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(a, b, c)")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := specs[0].Build(&operators.Counters{}).(*operators.Aggregate); !ok {
		t.Errorf("on %d cores, a CUBE of three runs as a Parallel", operators.ParallelCores-1)
	}
}
