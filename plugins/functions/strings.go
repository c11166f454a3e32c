package functions

import (
	"strings"
	"unicode/utf8"

	"sluice/operators"
)

func init() {
	text("UPPER", "UPPER(s): s in upper case", func(s string) operators.Value { return operators.Str(strings.ToUpper(s)) })
	text("LOWER", "LOWER(s): s in lower case", func(s string) operators.Value { return operators.Str(strings.ToLower(s)) })
	text("LENGTH", "LENGTH(s): number of characters (not bytes) in s", func(s string) operators.Value {
		return operators.Int(int64(utf8.RuneCountInString(s)))
	})
	text("TRIM", "TRIM(s): s without leading and trailing white space", func(s string) operators.Value {
		return operators.Str(strings.TrimSpace(s))
	})
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "CONCAT", MinArgs: 1, MaxArgs: -1,
		Doc:  "CONCAT(a, b, ...): the arguments' text joined; NULL arguments are skipped",
		Eval: concat,
	})
	strict("SUBSTRING", 2, 3, "SUBSTRING(s, start[, len]): characters of s from start (1-based; negative counts from the end), at most len of them", substring)
	strict("REPLACE", 3, 3, "REPLACE(s, from, to): s with every from replaced by to", func(args []operators.Value) operators.Value {
		s, from := args[0].Text(), args[1].Text()
		if from == "" {
			return operators.Str(s)
		}
		return operators.Str(strings.ReplaceAll(s, from, args[2].Text()))
	})
	strict("SPLIT_PART", 3, 3, "SPLIT_PART(s, sep, n): the n-th field of s split on sep (1-based; negative counts from the end; '' past the last)", splitPart)
	strict("STARTS_WITH", 2, 2, "STARTS_WITH(s, prefix): whether s begins with prefix", func(args []operators.Value) operators.Value {
		return operators.Bool(strings.HasPrefix(args[0].Text(), args[1].Text()))
	})
}

func concat(args []operators.Value) operators.Value {
	var b strings.Builder
	for _, a := range args {
		if !a.IsNull() {
			b.WriteString(a.Text())
		}
	}
	return operators.Str(b.String())
}

// substring follows MySQL: positions count characters from 1, a negative
// start counts from the end, start 0 or a length below 1 give an empty string.
func substring(args []operators.Value) operators.Value {
	s := args[0].Text()
	pos, ok := intArg(args[1])
	if !ok {
		return operators.Null()
	}
	n := utf8.RuneCountInString(s)
	var start int
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = n + pos
	default:
		return operators.Str("")
	}
	if start < 0 || start >= n {
		return operators.Str("")
	}
	end := n
	if len(args) == 3 {
		l, ok := intArg(args[2])
		if !ok {
			return operators.Null()
		}
		if l < 1 {
			return operators.Str("")
		}
		// Compare before adding: start+l overflows for a huge len.
		if l < n-start {
			end = start + l
		}
	}
	if n == len(s) {
		return operators.Str(s[start:end])
	}
	return operators.Str(s[runeOffset(s, start):runeOffset(s, end)])
}

// runeOffset is the byte offset of the i-th character of s.
func runeOffset(s string, i int) int {
	for off := range s {
		if i == 0 {
			return off
		}
		i--
	}
	return len(s)
}

// splitPart follows PostgreSQL's split_part, except that n = 0 is NULL
// rather than an error.
func splitPart(args []operators.Value) operators.Value {
	s, sep := args[0].Text(), args[1].Text()
	n, ok := intArg(args[2])
	if !ok || n == 0 {
		return operators.Null()
	}
	if sep == "" {
		if n == 1 || n == -1 {
			return operators.Str(s)
		}
		return operators.Str("")
	}
	if n > 0 {
		for ; n > 1; n-- {
			i := strings.Index(s, sep)
			if i < 0 {
				return operators.Str("")
			}
			s = s[i+len(sep):]
		}
		if i := strings.Index(s, sep); i >= 0 {
			s = s[:i]
		}
		return operators.Str(s)
	}
	for ; n < -1; n++ {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			return operators.Str("")
		}
		s = s[:i]
	}
	if i := strings.LastIndex(s, sep); i >= 0 {
		s = s[i+len(sep):]
	}
	return operators.Str(s)
}
