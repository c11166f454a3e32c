package functions

import (
	"regexp"
	"testing"
	"time"

	"sluice/operators"
)

func TestTimeFunctions(t *testing.T) {
	// 2024-06-09T22:05:07.089Z is a Sunday.
	const ms = 1717970707089
	ts := []operators.Value{i(ms), s("2024-06-09T22:05:07.089Z"), s("2024-06-10T00:05:07.089+02:00"), f(ms)}
	for _, v := range ts {
		runScalarCases(t, []scalarCase{
			{"DATE_FORMAT", []operators.Value{v, s("yyyy-MM-dd HH:mm:ss.SSS")}, s("2024-06-09 22:05:07.089")},
			{"DATE_FORMAT", []operators.Value{v, s("yyyy.MM.dd")}, s("2024.06.09")},
			{"DATE_FORMAT", []operators.Value{v, s("dd/MM/yyyy 'at' HH")}, s("09/06/2024 'at' 22")},
			{"DATE_FORMAT", []operators.Value{v, s("")}, s("")},
			{"TO_DATE", []operators.Value{v}, s("2024-06-09")},
			{"YEAR", []operators.Value{v}, i(2024)},
			{"MONTH", []operators.Value{v}, i(6)},
			{"DAY", []operators.Value{v}, i(9)},
			{"HOUR", []operators.Value{v}, i(22)},
			{"MINUTE", []operators.Value{v}, i(5)},
			{"DAYOFWEEK", []operators.Value{v}, i(1)},
			{"UNIX_MILLIS", []operators.Value{v}, i(ms)},
		})
	}
	runScalarCases(t, []scalarCase{
		{"DAYOFWEEK", []operators.Value{s("2024-06-15T12:00:00Z")}, i(7)}, // Saturday
		{"DAYOFWEEK", []operators.Value{s("2024-06-10T12:00:00Z")}, i(2)}, // Monday
		{"DATE_FORMAT", []operators.Value{i(0), s("yyyy-MM-dd HH:mm:ss.SSS")}, s("1970-01-01 00:00:00.000")},
		{"DATE_FORMAT", []operators.Value{i(-1), s("yyyy-MM-dd HH:mm:ss.SSS")}, s("1969-12-31 23:59:59.999")},
		{"TO_DATE", []operators.Value{s("not a time")}, null},
		{"HOUR", []operators.Value{b(true)}, null},
		{"FROM_UNIXTIME", []operators.Value{i(1717970707)}, s("2024-06-09T22:05:07Z")},
		{"FROM_UNIXTIME", []operators.Value{f(1717970707.25)}, s("2024-06-09T22:05:07.25Z")},
		{"FROM_UNIXTIME", []operators.Value{s("0")}, s("1970-01-01T00:00:00Z")},
		{"FROM_UNIXTIME", []operators.Value{s("soon")}, null},
		{"UNIX_MILLIS", []operators.Value{s("2024-06-09T22:05:07.089Z")}, i(ms)},
	})
}

func TestNow(t *testing.T) {
	before := time.Now().UnixMilli()
	got := call(t, "NOW")
	after := time.Now().UnixMilli()
	if got.Kind != operators.KindInt || got.I < before || got.I > after {
		t.Errorf("NOW() = %v, want an int in [%d, %d]", got, before, after)
	}
}

// FROM_UNIXTIME's output is what operators.TimeMillis and the time functions read back.
func TestFromUnixtimeRoundTrip(t *testing.T) {
	rfc := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)
	for _, sec := range []int64{0, 1, 86399, 951782400, 1717970707, 4102444800} {
		out := call(t, "FROM_UNIXTIME", i(sec))
		if !rfc.MatchString(out.S) {
			t.Errorf("FROM_UNIXTIME(%d) = %q, not RFC 3339 UTC", sec, out.S)
		}
		if back := call(t, "UNIX_MILLIS", out); back != i(sec*1000) {
			t.Errorf("UNIX_MILLIS(FROM_UNIXTIME(%d)) = %v", sec, back)
		}
	}
}
