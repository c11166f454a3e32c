package server

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// jsonscan is a validating JSON scanner for ingest. It only checks syntax
// and finds where a value ends; nothing is decoded or allocated on the
// success path, which keeps ingest at a few hundred nanoseconds per event.
// It accepts exactly what encoding/json.Valid accepts, except that strings
// must also be valid UTF-8 (FuzzDecode holds it to that).

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

// syntaxError is a JSON syntax problem at a byte offset of the scanned text.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// plainString marks bytes that may appear in a string without a closer look.
var plainString = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func unexpected(b []byte, i int, want string) *syntaxError {
	if i >= len(b) {
		return &syntaxError{i, "unexpected end of input, expected " + want}
	}
	return &syntaxError{i, fmt.Sprintf("unexpected %s, expected %s", quoteChar(b[i]), want)}
}

func quoteChar(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return fmt.Sprintf("%q", rune(c))
}

// scanValue checks the value starting at b[i] (no leading space) and returns
// the offset just past it.
func scanValue(b []byte, i, depth int) (int, *syntaxError) {
	if i >= len(b) {
		return i, unexpected(b, i, "a value")
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
	return i, unexpected(b, i, "a value")
}

// scanObject checks the object starting at b[i], as ingest's events are.
func scanObject(b []byte, i, depth int) (int, *syntaxError) { return scanCompound(b, i, depth, '}') }

// scanCompound checks the object (end '}') or array (end ']') starting at
// b[i]: the same list of comma-separated values, an object's each behind
// a key and ':'.
func scanCompound(b []byte, i, depth int, end byte) (int, *syntaxError) {
	if depth > maxDepth {
		return i, &syntaxError{i, "nested too deeply"}
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == end {
		return i + 1, nil
	}
	for {
		var err *syntaxError
		if end == '}' {
			if i, err = scanKey(b, i); err != nil {
				return i, err
			}
		}
		if i, err = scanValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i < len(b) {
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
				continue
			case end:
				return i + 1, nil
			}
		}
		if end == '}' {
			return i, unexpected(b, i, "',' or '}' after object value")
		}
		return i, unexpected(b, i, "',' or ']' after array element")
	}
}

// scanKey checks an object key and the ':' after it, and returns the
// offset of the value.
func scanKey(b []byte, i int) (int, *syntaxError) {
	if i >= len(b) || b[i] != '"' {
		return i, unexpected(b, i, "a string key")
	}
	i, err := scanString(b, i)
	if err != nil {
		return i, err
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, unexpected(b, i, "':' after object key")
	}
	return skipSpace(b, i+1), nil
}

func scanString(b []byte, i int) (int, *syntaxError) {
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
			return i, &syntaxError{start, "unterminated string"}
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, &syntaxError{start, "unterminated string"}
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) || !isHex(b[k]) {
						return k, &syntaxError{i, "invalid \\u escape in string"}
					}
				}
				i += 6
			default:
				return i, &syntaxError{i, "invalid escape " + quoteChar(b[i+1]) + " in string"}
			}
		case c < 0x20:
			return i, &syntaxError{i, "control character " + quoteChar(c) + " in string"}
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, &syntaxError{i, "invalid UTF-8 in string"}
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

func scanNumber(b []byte, i int) (int, *syntaxError) {
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
		return i, &syntaxError{start, "invalid number"}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, &syntaxError{start, "invalid number: no digits after '.'"}
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
			return i, &syntaxError{start, "invalid number: no digits in exponent"}
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, *syntaxError) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, &syntaxError{i, "invalid literal, expected " + lit}
	}
	return i + len(lit), nil
}
