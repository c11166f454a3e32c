// Package operators is sluice's runtime: values and records, the operators a
// compiled statement runs (filter, project, window aggregate, sessionize),
// streams with bounded queues, and the registries plugins add to.
package operators

import (
	"math"
	"strconv"
	"strings"
)

// Kind is the dynamic type of a Value.
type Kind uint8

// The kinds a Value can hold. JSON holds an object or array as raw text.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindJSON
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "json"}

func (k Kind) String() string { return kindNames[k] }

// Value is a small tagged union: events are schemaless JSON, so every field
// and expression result is one of these. It is passed by value; only strings
// and raw JSON point to the heap.
type Value struct {
	Kind Kind
	I    int64  // KindInt, KindBool (0 or 1); KindFloat: the float's bits (see Float64)
	S    string // KindString, KindJSON
}

// Float64 is the value of a KindFloat. Floats share I with ints, which
// keeps a Value at 32 bytes: the size of every slot, group key and row.
func (v Value) Float64() float64 { return math.Float64frombits(uint64(v.I)) }

// Constructors.
func Null() Value              { return Value{} }
func Int(i int64) Value        { return Value{Kind: KindInt, I: i} }
func Float(f float64) Value    { return Value{Kind: KindFloat, I: int64(math.Float64bits(f))} }
func Str(s string) Value       { return Value{Kind: KindString, S: s} }
func RawJSON(raw string) Value { return Value{Kind: KindJSON, S: raw} }
func Bool(b bool) Value {
	if b {
		return Value{Kind: KindBool, I: 1}
	}
	return Value{Kind: KindBool}
}

// IsNull reports whether v is SQL NULL.
func (v Value) IsNull() bool { return v.Kind == KindNull }

// Num returns v as a float64 when it is numeric or a numeric string.
func (v Value) Num() (float64, bool) {
	switch v.Kind {
	case KindInt, KindBool:
		return float64(v.I), true
	case KindFloat:
		return v.Float64(), true
	case KindString:
		return parseFinite(v.S)
	}
	return 0, false
}

// parseFinite parses a numeric string. ParseFloat also takes "NaN" and
// "Inf", which no JSON number can be: as numbers they would compare equal
// to every number and turn sums into NaN, so they stay strings.
func parseFinite(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Int64 returns v as an int64 when it is numeric (floats truncate). A
// float outside int64's range, or NaN, is not one: Go's conversion of it
// depends on the CPU.
func (v Value) Int64() (int64, bool) {
	var f float64
	switch v.Kind {
	case KindInt, KindBool:
		return v.I, true
	case KindFloat:
		f = v.Float64()
	case KindString:
		if i, err := strconv.ParseInt(strings.TrimSpace(v.S), 10, 64); err == nil {
			return i, true
		}
		var ok bool
		if f, ok = parseFinite(v.S); !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// Truthy is SQL truth for WHERE/HAVING: NULL, false, 0 and "" are false.
func (v Value) Truthy() bool {
	switch v.Kind {
	case KindBool, KindInt:
		return v.I != 0
	case KindFloat:
		return v.Float64() != 0
	case KindString:
		return v.S != "" && v.S != "false" && v.S != "0"
	case KindJSON:
		return true
	}
	return false
}

// Text is v as display text: strings unquoted, NULL as "".
func (v Value) Text() string {
	switch v.Kind {
	case KindString, KindJSON:
		return v.S
	case KindInt:
		return strconv.FormatInt(v.I, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Float64(), 'f', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.I != 0)
	}
	return ""
}

// AppendText appends v's Text to dst without allocating a string.
func (v Value) AppendText(dst []byte) []byte {
	switch v.Kind {
	case KindString, KindJSON:
		return append(dst, v.S...)
	case KindInt:
		return strconv.AppendInt(dst, v.I, 10)
	case KindFloat:
		return strconv.AppendFloat(dst, v.Float64(), 'f', -1, 64)
	case KindBool:
		return strconv.AppendBool(dst, v.I != 0)
	}
	return dst
}

// String is for debugging and test failure messages.
func (v Value) String() string {
	if v.Kind == KindString {
		return strconv.Quote(v.S)
	}
	if v.Kind == KindNull {
		return "NULL"
	}
	return v.Text()
}

// AppendJSON appends v as JSON. NaN and Inf, which JSON cannot hold, become null.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.Kind {
	case KindNull:
		return append(dst, "null"...)
	case KindBool:
		if v.I != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case KindInt:
		return strconv.AppendInt(dst, v.I, 10)
	case KindFloat:
		if math.IsNaN(v.Float64()) || math.IsInf(v.Float64(), 0) {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, v.Float64(), 'f', -1, 64)
	case KindString:
		return AppendJSONString(dst, v.S)
	case KindJSON:
		return append(dst, v.S...)
	}
	return dst
}

// Equal is SQL equality with numeric coercion between ints and floats.
// NULL equals nothing, not even NULL.
func (v Value) Equal(o Value) bool {
	c, ok := Compare(v, o)
	return ok && c == 0
}

// Compare orders two values. ok is false when either is NULL or the kinds
// cannot be compared (a string with a number that does not parse).
func Compare(a, b Value) (c int, ok bool) {
	if a.Kind == KindNull || b.Kind == KindNull {
		return 0, false
	}
	if a.Kind == KindInt && b.Kind == KindInt {
		return cmpOrdered(a.I, b.I), true
	}
	if (a.Kind == KindString || a.Kind == KindJSON) && (b.Kind == KindString || b.Kind == KindJSON) {
		return strings.Compare(a.S, b.S), true
	}
	if a.Kind == KindBool && b.Kind == KindBool {
		return cmpOrdered(a.I, b.I), true
	}
	x, ok1 := a.Num()
	y, ok2 := b.Num()
	// NaN (say Inf - Inf) is not ordered: cmpOrdered would call it equal.
	if !ok1 || !ok2 || math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	return cmpOrdered(x, y), true
}

func cmpOrdered[T int64 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// Any converts v to a Go value as encoding/json would decode it.
func (v Value) Any() any {
	switch v.Kind {
	case KindBool:
		return v.I != 0
	case KindInt:
		return v.I
	case KindFloat:
		return v.Float64()
	case KindString:
		return v.S
	case KindJSON:
		return jsonText(v.S)
	}
	return nil
}

// jsonText marshals as itself, so raw JSON survives encoding/json.
type jsonText string

func (j jsonText) MarshalJSON() ([]byte, error) { return []byte(j), nil }

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a quoted JSON string.
func AppendJSONString(dst []byte, s string) []byte { return appendJSONString(dst, s) }

// AppendJSONBytes appends b as a quoted JSON string.
func AppendJSONBytes(dst, b []byte) []byte { return appendJSONString(dst, b) }

func appendJSONString[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
