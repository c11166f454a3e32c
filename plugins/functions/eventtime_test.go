package functions

import (
	"math"
	"testing"
	"time"

	"sluice/operators"
)

func TestParseTime(t *testing.T) {
	ms := func(s string) int64 { return mustTime(t, s).UnixMilli() }
	for _, c := range []struct {
		in   operators.Value
		want int64
		ok   bool
	}{
		{i(1718000000123), 1718000000123, true},
		{i(-5), -5, true},
		{f(1718000000123.9), 1718000000123, true},
		{f(math.NaN()), 0, false},
		{f(math.Inf(1)), 0, false},
		{s("1718000000123"), 1718000000123, true},
		{s("2024-06-10T06:13:20Z"), 1718000000000, true},
		{s("2024-06-10T06:13:20.123Z"), 1718000000123, true},
		{s("2024-06-10T06:13:20.1Z"), 1718000000100, true},
		{s("2024-06-10T06:13:20.123456789Z"), 1718000000123, true},
		{s("2024-06-10T08:13:20.5+02:00"), 1718000000500, true},
		{s("2024-06-10T01:13:20-05:00"), 1718000000000, true},
		{s("1970-01-01T00:00:00Z"), 0, true},
		{s("1969-12-31T23:59:59.999Z"), -1, true},
		{s("2000-02-29T12:00:00Z"), ms("2000-02-29T12:00:00Z"), true},
		{s("0000-01-01T00:00:00Z"), ms("0000-01-01T00:00:00Z"), true},
		{s("9999-12-31T23:59:59.999Z"), ms("9999-12-31T23:59:59.999Z"), true},
		{s("2023-02-29T00:00:00Z"), 0, false},
		{s("2024-13-01T00:00:00Z"), 0, false},
		{s("2024-06-10T24:00:00Z"), 0, false},
		{s("2024-06-10 06:13:20Z"), 0, false},
		{s("2024-06-10"), 0, false},
		{s("yesterday"), 0, false},
		{s(""), 0, false},
		{b(true), 0, false},
		{null, 0, false},
		{js(`{"ts":1}`), 0, false},
	} {
		got, ok := ParseTime(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseTime(%v) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestParseTimeIntsDoNotAllocate(t *testing.T) {
	for _, v := range []operators.Value{i(1718000000123), s("2024-06-10T06:13:20.123Z")} {
		if n := testing.AllocsPerRun(100, func() { ParseTime(v) }); n != 0 {
			t.Errorf("ParseTime(%v) allocates %v times", v, n)
		}
	}
}

// FuzzParseTime checks the fast RFC 3339 path against time.Parse: whatever
// either accepts, ParseTime must read as time.Parse does.
func FuzzParseTime(f *testing.F) {
	for _, seed := range []string{
		"2024-06-10T06:13:20Z", "2024-06-10T06:13:20.123Z", "1969-12-31T23:59:59.999999999Z",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "2024-06-10T08:13:20+02:00",
		"2024-06-10T06:13:60Z", "2024-06-10T06:13:20.Z", "2024-06-10T06:13:20.1234567890Z",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := parseUTC(in)
		want, err := time.Parse(time.RFC3339Nano, in)
		if ok && (err != nil || got != want.UnixMilli()) {
			t.Fatalf("fast path read %q as %d; time.Parse says %v, %v", in, got, want.UnixMilli(), err)
		}
		if err == nil {
			if got, ok := ParseTime(operators.Str(in)); !ok || got != want.UnixMilli() {
				t.Fatalf("ParseTime(%q) = %d, %v; time.Parse says %d", in, got, ok, want.UnixMilli())
			}
		}
	})
}
