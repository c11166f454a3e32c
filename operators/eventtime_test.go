package operators

import (
	"math"
	"testing"
	"time"
)

func TestTimeMillis(t *testing.T) {
	ms := func(s string) int64 { return mustTime(t, s).UnixMilli() }
	for _, c := range []struct {
		in   Value
		want int64
		ok   bool
	}{
		{Int(1718000000123), 1718000000123, true},
		{Int(-5), -5, true},
		{Float(1718000000123.9), 1718000000123, true},
		{Float(math.NaN()), 0, false},
		{Float(math.Inf(1)), 0, false},
		{Str("1718000000123"), 1718000000123, true},
		{Str("2024-06-10T06:13:20Z"), 1718000000000, true},
		{Str("2024-06-10T06:13:20.123Z"), 1718000000123, true},
		{Str("2024-06-10T06:13:20.1Z"), 1718000000100, true},
		{Str("2024-06-10T06:13:20.123456789Z"), 1718000000123, true},
		{Str("2024-06-10T08:13:20.5+02:00"), 1718000000500, true},
		{Str("2024-06-10T01:13:20-05:00"), 1718000000000, true},
		{Str("1970-01-01T00:00:00Z"), 0, true},
		{Str("1969-12-31T23:59:59.999Z"), -1, true},
		{Str("2000-02-29T12:00:00Z"), ms("2000-02-29T12:00:00Z"), true},
		{Str("0001-01-01T00:00:00Z"), ms("0001-01-01T00:00:00Z"), true},
		{Str("9999-12-31T23:59:59.999Z"), ms("9999-12-31T23:59:59.999Z"), true},
		// Outside years 0001–9999: refused, whatever the form.
		{Str("0000-12-31T23:59:59.999Z"), 0, false},
		{Str("0001-01-01T00:30:00+01:00"), 0, false},
		{Str("9999-12-31T23:59:59-01:00"), 0, false},
		{Int(-62135596800000), -62135596800000, true},
		{Int(-62135596800001), 0, false},
		{Int(253402300799999), 253402300799999, true},
		{Int(253402300800000), 0, false},
		{Int(9223372036854775000), 0, false},
		{Int(-9223372036854775000), 0, false},
		{Float(253402300799999.9), 253402300799999, true},
		{Float(253402300800000), 0, false},
		{Float(-1e300), 0, false},
		{Str("253402300800000"), 0, false},
		{Str("-9223372036854775808"), 0, false},
		{Str("2023-02-29T00:00:00Z"), 0, false},
		{Str("2024-13-01T00:00:00Z"), 0, false},
		{Str("2024-06-10T24:00:00Z"), 0, false},
		{Str("2024-06-10 06:13:20Z"), 0, false},
		{Str("2024-06-10"), 0, false},
		{Str("yesterday"), 0, false},
		{Str(""), 0, false},
		{Bool(true), 0, false},
		{Null(), 0, false},
		{RawJSON(`{"ts":1}`), 0, false},
	} {
		got, ok := TimeMillis(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("TimeMillis(%v) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
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

func TestTimeMillisIntsDoNotAllocate(t *testing.T) {
	for _, v := range []Value{Int(1718000000123), Str("2024-06-10T06:13:20.123Z")} {
		if n := testing.AllocsPerRun(100, func() { TimeMillis(v) }); n != 0 {
			t.Errorf("TimeMillis(%v) allocates %v times", v, n)
		}
	}
}

// FuzzTimeMillis checks the fast RFC 3339 path against time.Parse: whatever
// either accepts, TimeMillis must read as time.Parse does, or refuse when
// it is outside years 0001–9999.
func FuzzTimeMillis(f *testing.F) {
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
			year := want.UTC().Year()
			inRange := year >= 1 && year <= 9999
			if got, ok := TimeMillis(Str(in)); ok != inRange || ok && got != want.UnixMilli() {
				t.Fatalf("TimeMillis(%q) = %d, %v; time.Parse says %d", in, got, ok, want.UnixMilli())
			}
		}
	})
}
