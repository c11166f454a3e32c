package functions

import (
	"math"
	"strings"
	"time"
	"unsafe"

	"sluice/operators"
)

// Time functions take event times as operators.TimeMillis reads them (epoch
// milliseconds or RFC 3339) and work in UTC.
func init() {
	strict("DATE_FORMAT", 2, 2, "DATE_FORMAT(ts, pattern): ts formatted with yyyy MM dd HH mm ss SSS; other characters are copied", func(args []operators.Value) operators.Value {
		t, ok := eventTime(args[0])
		if !ok {
			return operators.Null()
		}
		return operators.Str(formatTime(t, args[1].Text()))
	})
	timePart("TO_DATE", "TO_DATE(ts): the date of ts as 'yyyy-MM-dd'", func(t time.Time) operators.Value {
		return operators.Str(formatTime(t, "yyyy-MM-dd"))
	})
	timePart("YEAR", "YEAR(ts): year of ts", func(t time.Time) operators.Value { return operators.Int(int64(t.Year())) })
	timePart("MONTH", "MONTH(ts): month of ts, 1-12", func(t time.Time) operators.Value { return operators.Int(int64(t.Month())) })
	timePart("DAY", "DAY(ts): day of the month of ts, 1-31", func(t time.Time) operators.Value { return operators.Int(int64(t.Day())) })
	timePart("HOUR", "HOUR(ts): hour of ts, 0-23", func(t time.Time) operators.Value { return operators.Int(int64(t.Hour())) })
	timePart("MINUTE", "MINUTE(ts): minute of ts, 0-59", func(t time.Time) operators.Value { return operators.Int(int64(t.Minute())) })
	timePart("DAYOFWEEK", "DAYOFWEEK(ts): day of the week of ts as in MySQL, 1 = Sunday .. 7 = Saturday", func(t time.Time) operators.Value {
		return operators.Int(int64(t.Weekday()) + 1)
	})
	timePart("UNIX_MILLIS", "UNIX_MILLIS(ts): ts as epoch milliseconds", func(t time.Time) operators.Value { return operators.Int(t.UnixMilli()) })
	strict("FROM_UNIXTIME", 1, 1, "FROM_UNIXTIME(seconds): epoch seconds as an RFC 3339 UTC timestamp", func(args []operators.Value) operators.Value {
		f, ok := args[0].Num()
		if !ok || math.IsNaN(f) || math.Abs(f) > 1<<53 {
			return operators.Null()
		}
		sec, frac := math.Modf(f)
		t := time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
		return operators.Str(t.Format(time.RFC3339Nano))
	})
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "NOW", Volatile: true, Doc: "NOW(): the wall clock as epoch milliseconds",
		Eval: func([]operators.Value) operators.Value { return operators.Int(time.Now().UnixMilli()) },
	})
}

func eventTime(v operators.Value) (time.Time, bool) {
	ms, ok := operators.TimeMillis(v)
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// timePart registers a one-argument function of an event time.
func timePart(name, doc string, fn func(time.Time) operators.Value) {
	strict(name, 1, 1, doc, func(args []operators.Value) operators.Value {
		t, ok := eventTime(args[0])
		if !ok {
			return operators.Null()
		}
		return fn(t)
	})
}

// formatTime expands the pattern letters yyyy MM dd HH mm ss SSS.
func formatTime(t time.Time, pattern string) string {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b := make([]byte, 0, len(pattern)+4)
	for i := 0; i < len(pattern); {
		rest := pattern[i:]
		switch {
		case strings.HasPrefix(rest, "yyyy"):
			b = appendPadded(b, year, 4)
			i += 4
		case strings.HasPrefix(rest, "SSS"):
			b = appendPadded(b, t.Nanosecond()/1e6, 3)
			i += 3
		case strings.HasPrefix(rest, "MM"):
			b = appendPadded(b, int(month), 2)
			i += 2
		case strings.HasPrefix(rest, "dd"):
			b = appendPadded(b, day, 2)
			i += 2
		case strings.HasPrefix(rest, "HH"):
			b = appendPadded(b, hour, 2)
			i += 2
		case strings.HasPrefix(rest, "mm"):
			b = appendPadded(b, minute, 2)
			i += 2
		case strings.HasPrefix(rest, "ss"):
			b = appendPadded(b, sec, 2)
			i += 2
		default:
			b = append(b, pattern[i])
			i++
		}
	}
	// b is never touched again, so it becomes the string without a copy.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// appendPadded appends n zero-padded to width digits.
func appendPadded(b []byte, n, width int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var d [20]byte
	i := len(d)
	for n > 0 || i > len(d)-width {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[i:]...)
}
