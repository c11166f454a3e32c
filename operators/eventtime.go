package operators

import (
	"math"
	"strconv"
	"time"
)

// The event times TimeMillis accepts: 0001-01-01T00:00:00.000Z to
// 9999-12-31T23:59:59.999Z. Window and watermark arithmetic on times this
// close to zero cannot overflow an int64.
const (
	minTimeMillis = -62135596800000
	maxTimeMillis = 253402300799999
)

// TimeMillis reads an event time as epoch milliseconds: an int is taken as
// milliseconds, a float is truncated to them, and a string is either
// all digits (milliseconds) or an RFC 3339 timestamp. Times outside years
// 0001–9999 are refused. It is on the engine's per-event path for
// @EventTime columns: ints cost a type switch, and the common UTC form
// "2006-01-02T15:04:05[.000]Z" is parsed without allocating.
func TimeMillis(v Value) (int64, bool) {
	ms, ok := readMillis(v)
	if !ok || ms < minTimeMillis || ms > maxTimeMillis {
		return 0, false
	}
	return ms, true
}

// readMillis is TimeMillis without the range check.
func readMillis(v Value) (int64, bool) {
	switch v.Kind {
	case KindInt:
		return v.I, true
	case KindFloat:
		if math.IsNaN(v.Float64()) || v.Float64() < -(1<<63) || v.Float64() >= 1<<63 {
			return 0, false
		}
		return int64(v.Float64()), true
	case KindString:
		return parseTimeString(v.S)
	}
	return 0, false
}

func parseTimeString(s string) (int64, bool) {
	if ms, ok := parseUTC(s); ok {
		return ms, true
	}
	if s != "" && (s[0] >= '0' && s[0] <= '9' || s[0] == '-') {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return ms, true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// parseUTC is the fast path for "YYYY-MM-DDTHH:MM:SS[.fraction]Z". Anything
// else (offsets, odd forms) reports false and goes to time.Parse.
func parseUTC(s string) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	var ms int64
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return 0, false
		}
		f, ok := digits(frac[1:])
		if !ok {
			return 0, false
		}
		for n := len(frac) - 1; n < 3; n++ {
			f *= 10
		}
		for n := len(frac) - 1; n > 3; n-- {
			f /= 10
		}
		ms = f
	}
	days := daysFromCivil(year, month, day)
	return ((days*24+hour)*60+minute)*60*1000 + sec*1000 + ms, true
}

func digits(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	return n, true
}

func daysIn(month, year int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm). January and February of year 0 count as
// year -1, hence the floor division.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
