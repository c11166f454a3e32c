// Package jsonsyntax checks the syntax of JSON text without decoding it.
//
// It only checks syntax and finds where a value ends; nothing is decoded or
// allocated on the success path, which keeps validation at a few hundred
// nanoseconds per event. It accepts exactly what encoding/json.Valid
// accepts, except that strings must also be valid UTF-8 (FuzzValue holds it
// to that). HTTP ingest and the Kafka source both validate events with it.
package jsonsyntax

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// MaxDepth matches encoding/json's nesting limit: at most MaxDepth objects
// and arrays may enclose one another.
const MaxDepth = 10000

// Error is a JSON syntax problem at a byte offset of the scanned text.
type Error struct {
	// Offset is into the scanned text: the unexpected byte, or where the
	// bad string, escape, number or literal starts.
	Offset int
	// Msg says what is wrong: "unexpected end of input, expected a value".
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// plainString marks bytes that may appear in a string without a closer look.
var plainString = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the offset of the first byte from b[i] on that is not
// JSON whitespace (space, tab, CR, LF), or len(b).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// Unexpected is the error for b[i] (or the end of b) where want was
// expected: "unexpected ',', expected a value".
func Unexpected(b []byte, i int, want string) *Error {
	if i >= len(b) {
		return &Error{i, "unexpected end of input, expected " + want}
	}
	return &Error{i, fmt.Sprintf("unexpected %s, expected %s", QuoteByte(b[i]), want)}
}

// QuoteByte names a byte of JSON text in a message: 'x' when printable
// ASCII, byte 0xff otherwise.
func QuoteByte(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return fmt.Sprintf("%q", rune(c))
}

// Value checks the value starting at b[i] (no leading space) and returns
// the offset just past it. depth is the number of objects and arrays that
// enclose the value: 0 for a whole document.
func Value(b []byte, i, depth int) (end int, err *Error) {
	if i >= len(b) {
		return i, Unexpected(b, i, "a value")
	}
	switch c := b[i]; {
	case c == '{':
		return scanCompound(b, i, depth+1, '}')
	case c == '[':
		return scanCompound(b, i, depth+1, ']')
	case c == '"':
		return scanString(b, i)
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, Unexpected(b, i, "a value")
}

// Object checks the object starting at b[i], as events are, and returns the
// offset just past it. b[i] must be '{'; Object does not look. depth counts
// the object itself: 1 for a whole document, as Value would count it.
func Object(b []byte, i, depth int) (end int, err *Error) { return scanCompound(b, i, depth, '}') }

// scanCompound checks the object (end '}') or array (end ']') starting at
// b[i]: the same list of comma-separated values, an object's each behind
// a key and ':'.
func scanCompound(b []byte, i, depth int, end byte) (int, *Error) {
	if depth > MaxDepth {
		return i, &Error{i, "nested too deeply"}
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == end {
		return i + 1, nil
	}
	for {
		var err *Error
		if end == '}' {
			if i, err = scanKey(b, i); err != nil {
				return i, err
			}
		}
		if i, err = Value(b, i, depth); err != nil {
			return i, err
		}
		i = SkipSpace(b, i)
		if i < len(b) {
			switch b[i] {
			case ',':
				i = SkipSpace(b, i+1)
				continue
			case end:
				return i + 1, nil
			}
		}
		if end == '}' {
			return i, Unexpected(b, i, "',' or '}' after object value")
		}
		return i, Unexpected(b, i, "',' or ']' after array element")
	}
}

// scanKey checks an object key and the ':' after it, and returns the
// offset of the value.
func scanKey(b []byte, i int) (int, *Error) {
	if i >= len(b) || b[i] != '"' {
		return i, Unexpected(b, i, "a string key")
	}
	i, err := scanString(b, i)
	if err != nil {
		return i, err
	}
	i = SkipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, Unexpected(b, i, "':' after object key")
	}
	return SkipSpace(b, i+1), nil
}

func scanString(b []byte, i int) (int, *Error) {
	start := i
	i++
	for {
		// Eight bytes at a time while none needs a closer look.
		for i+8 <= len(b) && !specialInWord(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plainString[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, &Error{start, "unterminated string"}
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, &Error{start, "unterminated string"}
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) || !isHex(b[k]) {
						return k, &Error{i, "invalid \\u escape in string"}
					}
				}
				i += 6
			default:
				return i, &Error{i, "invalid escape " + QuoteByte(b[i+1]) + " in string"}
			}
		case c < 0x20:
			return i, &Error{i, "control character " + QuoteByte(c) + " in string"}
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, &Error{i, "invalid UTF-8 in string"}
			}
			i += size
		}
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialInWord reports whether any of the eight bytes in w is '"', '\\',
// a control character or non-ASCII (the SWAR tests of "Bit Twiddling Hacks").
func specialInWord(w uint64) bool {
	quote := w ^ (ones * '"')
	backslash := w ^ (ones * '\\')
	return ((quote-ones)&^quote|(backslash-ones)&^backslash|(w-ones*0x20)&^w|w)&highs != 0
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func scanNumber(b []byte, i int) (int, *Error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, &Error{start, "invalid number"}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, &Error{start, "invalid number: no digits after '.'"}
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, &Error{start, "invalid number: no digits in exponent"}
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, *Error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, &Error{i, "invalid literal, expected " + lit}
	}
	return i + len(lit), nil
}
