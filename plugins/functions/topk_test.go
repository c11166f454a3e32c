package functions

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"sluice/operators"
)

func TestTopKParams(t *testing.T) {
	fn, _ := operators.LookupAggregate("TOPK")
	for _, k := range []operators.Value{i(0), i(-1), i(maxTopK + 1), f(2.5), s("3"), null} {
		if _, err := fn.New([]operators.Value{k}); err == nil {
			t.Errorf("TOPK(x, %v) accepted", k)
		}
	}
}

func TestTopKExact(t *testing.T) {
	add := func(agg operators.Aggregator, v operators.Value, times int) {
		for range times {
			agg.Add(v)
		}
	}
	agg := newAggregate(t, "TOPK", i(3))
	add(agg, s("/home"), 5)
	add(agg, s("/cart"), 3)
	add(agg, s("/b"), 3)
	add(agg, s("/about"), 1)
	add(agg, null, 10)
	want := `[{"value":"/home","count":5},{"value":"/b","count":3},{"value":"/cart","count":3}]`
	if got := agg.Result(); got != js(want) {
		t.Errorf("TOPK = %v\nwant   %s", got, want)
	}

	// Fewer values than k; values are compared by text and escaped in JSON.
	agg = newAggregate(t, "TOPK", i(10))
	add(agg, i(7), 2)
	add(agg, s("7"), 1)
	add(agg, s(`say "hi"`), 2)
	want = `[{"value":"7","count":3},{"value":"say \"hi\"","count":2}]`
	if got := agg.Result(); got != js(want) {
		t.Errorf("TOPK = %v\nwant   %s", got, want)
	}
	if got := newAggregate(t, "TOPK", i(3)).Result(); got != js(`[]`) {
		t.Errorf("empty TOPK = %v, want []", got)
	}
}

// Past 10·k distinct values the counters are bounded, and a heavy hitter is
// still found with a count overestimated by at most n / (10·k).
func TestTopKBoundedAndFindsHeavyHitters(t *testing.T) {
	const k, cold = 2, 30_000
	const hot, warm = cold / 5, cold / 10
	agg := newAggregate(t, "TOPK", i(k)).(*topK)
	for n := range cold {
		agg.Add(s("cold-" + strconv.Itoa(n)))
		if n%10 == 0 {
			agg.Add(s("hot"))
			agg.Add(s("warm"))
		}
		if n%10 == 5 {
			agg.Add(s("hot"))
		}
	}
	if len(agg.heap) != k*topKSlack || len(agg.index) != k*topKSlack {
		t.Fatalf("tracking %d counters (%d indexed), want %d", len(agg.heap), len(agg.index), k*topKSlack)
	}
	var top []struct {
		Value string `json:"value"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal([]byte(agg.Result().S), &top); err != nil {
		t.Fatal(err)
	}
	total := cold + hot + warm
	slack := total / (k * topKSlack)
	if len(top) != k || top[0].Value != "hot" || top[1].Value != "warm" {
		t.Fatalf("TOPK = %+v, want hot then warm", top)
	}
	if top[0].Count < hot || top[0].Count > hot+slack || top[1].Count < warm || top[1].Count > warm+slack {
		t.Errorf("counts %+v outside [true, true+%d] for hot=%d warm=%d", top, slack, hot, warm)
	}
}

func TestTopKRoundTrip(t *testing.T) {
	for _, distinct := range []int{0, 5, 500} {
		agg := newAggregate(t, "TOPK", i(4))
		for n := range 2000 {
			if distinct > 0 {
				agg.Add(s("v" + strconv.Itoa(n*n%distinct)))
			}
		}
		restored := roundTrip(t, agg, newAggregate(t, "TOPK", i(4)))
		for n := range 300 {
			agg.Add(i(int64(n % 7)))
			restored.Add(i(int64(n % 7)))
		}
		if a, b := agg.Result(), restored.Result(); a != b {
			t.Errorf("distinct=%d: after more adds original %v, restored %v", distinct, a, b)
		}
	}
	for _, bad := range [][]byte{nil, {0}, {3, 1}, {3, 1, 5, 'a'}, {3, 1, 1, 'a', 1, 9}, {3, 2, 1, 'a', 1, 1, 'a', 1}} {
		if err := newAggregate(t, "TOPK", i(3)).UnmarshalBinary(bad); err == nil {
			t.Errorf("state %v accepted", bad)
		}
	}
}

func TestTopKRepeatedValuesDoNotAllocate(t *testing.T) {
	agg := newAggregate(t, "TOPK", i(3))
	vals := []operators.Value{i(123456), f(2.5), operators.Bool(true), s("/home")}
	adds := 0
	addAll := func() {
		for _, v := range vals {
			agg.Add(v)
		}
		adds++
	}
	addAll()
	if n := testing.AllocsPerRun(100, addAll); n != 0 {
		t.Errorf("adding tracked values allocates %v times", n)
	}
	want := fmt.Sprintf(`[{"value":"/home","count":%[1]d},{"value":"123456","count":%[1]d},{"value":"2.5","count":%[1]d}]`, adds)
	if got := agg.Result(); got != js(want) {
		t.Errorf("TOPK = %v\nwant   %s", got, want)
	}
}

// A reset TOPK answers only for what it counts next and holds nothing of
// the group it counted before.
func TestTopKResetForgetsValues(t *testing.T) {
	tk := &topK{k: 1}
	for i := range 2 {
		tk.Add(operators.Str(strings.Repeat("z", 1<<16) + string(rune('a'+i))))
	}
	old := weak.Make(unsafe.StringData(tk.heap[1].value))
	tk.Reset()
	tk.Add(operators.Str("small"))
	if got := tk.Result().S; got != `[{"value":"small","count":1}]` {
		t.Fatalf("result %s", got)
	}
	runtime.GC()
	runtime.GC()
	if old.Value() != nil {
		t.Error("a value of the group counted before Reset is still held")
	}
	runtime.KeepAlive(tk)
}
