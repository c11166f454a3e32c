package jsonsyntax

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValue(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cases := []struct {
		name string
		in   string
		end  int    // offset just past the value, when valid
		off  int    // Error.Offset, when not
		msg  string // Error.Msg; "" when valid
	}{
		{name: "empty object", in: `{}`, end: 2},
		{name: "object padded", in: ` {"a":[1,-2.5e3,true,false,null,"x"],"b":{}} `, end: 44},
		{name: "string with escapes and unicode", in: `"é😀\u00e9\"" rest`, end: 16},
		{name: "number ends at comma", in: `-0.5E+10,`, end: 8},
		{name: "trailing data is the caller's", in: `[1]x`, end: 3},
		{name: "leading zero ends the number", in: `01`, end: 1},
		{name: "deepest nesting", in: deep(MaxDepth), end: 2 * MaxDepth},

		{name: "empty", in: ``, off: 0, msg: "unexpected end of input, expected a value"},
		{name: "truncated object", in: `{"a":`, off: 5, msg: "unexpected end of input, expected a value"},
		{name: "truncated after value", in: `{"a":1`, off: 6, msg: "unexpected end of input, expected ',' or '}' after object value"},
		{name: "missing colon", in: `{"a" 1}`, off: 5, msg: "unexpected '1', expected ':' after object key"},
		{name: "trailing comma in object", in: `{"a":1,}`, off: 7, msg: "unexpected '}', expected a string key"},
		{name: "unquoted key", in: `{a:1}`, off: 1, msg: "unexpected 'a', expected a string key"},
		{name: "missing comma in array", in: `[1 2]`, off: 3, msg: "unexpected '2', expected ',' or ']' after array element"},
		{name: "wrong closer", in: `{"a":1]`, off: 6, msg: "unexpected ']', expected ',' or '}' after object value"},
		{name: "unterminated string", in: `{"a":"x`, off: 5, msg: "unterminated string"},
		{name: "backslash at end", in: `"x\`, off: 0, msg: "unterminated string"},
		{name: "bad escape", in: `"ab\x"`, off: 3, msg: `invalid escape 'x' in string`},
		{name: "bad unicode escape", in: `"\u12g4"`, off: 1, msg: `invalid \u escape in string`},
		{name: "control character", in: "\"a\tb\"", off: 2, msg: "control character byte 0x09 in string"},
		{name: "invalid UTF-8", in: "\"a\xffb\"", off: 2, msg: "invalid UTF-8 in string"},
		{name: "truncated UTF-8 after a long ASCII run", in: "\"abcdefghijklmnop\xc3\"", off: 17, msg: "invalid UTF-8 in string"},
		{name: "UTF-8 encoded surrogate", in: "\"\xed\xa0\x80\"", off: 1, msg: "invalid UTF-8 in string"},
		{name: "lone minus", in: `-`, off: 0, msg: "invalid number"},
		{name: "no fraction digits", in: `[1.]`, off: 1, msg: "invalid number: no digits after '.'"},
		{name: "no exponent digits", in: `1e+`, off: 0, msg: "invalid number: no digits in exponent"},
		{name: "bad literal", in: `tru`, off: 0, msg: "invalid literal, expected true"},
		{name: "wrong case literal", in: `nulL`, off: 0, msg: "invalid literal, expected null"},
		{name: "closer for a value", in: `}`, off: 0, msg: "unexpected '}', expected a value"},
		{name: "NUL byte", in: "\x00", off: 0, msg: "unexpected byte 0x00, expected a value"},
		{name: "invalid UTF-8 outside a string", in: "[\xff]", off: 1, msg: "unexpected byte 0xff, expected a value"},
		{name: "nested too deeply", in: deep(MaxDepth + 1), off: MaxDepth, msg: "nested too deeply"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.in)
			end, err := Value(b, SkipSpace(b, 0), 0)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("error %q at %d, want valid up to %d", err.Msg, err.Offset, tc.end)
				}
				if end != tc.end {
					t.Fatalf("end %d, want %d", end, tc.end)
				}
				return
			}
			if err == nil {
				t.Fatalf("valid up to %d, want error %q at %d", end, tc.msg, tc.off)
			}
			if err.Offset != tc.off || err.Msg != tc.msg || err.Error() != tc.msg {
				t.Fatalf("error %q at %d, want %q at %d", err.Msg, err.Offset, tc.msg, tc.off)
			}
		})
	}
}

func TestObject(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		depth int
		end   int
		off   int
		msg   string
	}{
		{name: "top level", in: `{"a":1} x`, depth: 1, end: 7},
		{name: "starts past leading space", in: "\t{\"a\":1}", depth: 1, end: 8},
		{name: "inner object at the limit", in: `{"a":{}}`, depth: MaxDepth - 1, end: 8},
		{name: "inner object past the limit", in: `{"a":{}}`, depth: MaxDepth, off: 5, msg: "nested too deeply"},
		{name: "object past the limit", in: `{}`, depth: MaxDepth + 1, off: 0, msg: "nested too deeply"},
		{name: "truncated", in: `{"a":[1,2`, depth: 1, off: 9, msg: "unexpected end of input, expected ',' or ']' after array element"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.in)
			end, err := Object(b, SkipSpace(b, 0), tc.depth)
			switch {
			case tc.msg == "" && err != nil:
				t.Fatalf("error %q at %d, want valid up to %d", err.Msg, err.Offset, tc.end)
			case tc.msg == "" && end != tc.end:
				t.Fatalf("end %d, want %d", end, tc.end)
			case tc.msg != "" && err == nil:
				t.Fatalf("valid up to %d, want error %q at %d", end, tc.msg, tc.off)
			case tc.msg != "" && (err.Offset != tc.off || err.Msg != tc.msg):
				t.Fatalf("error %q at %d, want %q at %d", err.Msg, err.Offset, tc.msg, tc.off)
			}
		})
	}
}

func TestSpecialInWord(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			got := specialInWord(binary.LittleEndian.Uint64(w))
			if want := !plainString[c]; got != want {
				t.Fatalf("byte 0x%02x at %d: special=%v, want %v", c, pos, got, want)
			}
		}
	}
}

// FuzzValue holds the scanner to encoding/json.Valid with valid UTF-8
// (json.Valid accepts strings that are not), and its errors to offsets
// inside the text.
func FuzzValue(f *testing.F) {
	for _, seed := range []string{
		`{"a":1}`, ` [{"a":1},{"b":[true,false,null]}] `, `{"s":"\u00e9\n\"x\""}`, `{"n":-1.5e+10}`,
		`[]`, `{}`, `"x"`, `0`, `-0.0e-0`, `{"a":}`, `{"a":01}`, `{"a":1.}`, `{"a":tru}`, `[1,]`,
		`{"a":"é😀"}`, `"\ud800"`, `{"a":1}{"b":2}`, "{\n \"pretty\": true\n}", `[[[[[[]]]]]]`, "\"a\x7fb\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end, err := Value(b, SkipSpace(b, 0), 0)
		if err != nil {
			if err.Offset < 0 || err.Offset > len(b) || err.Msg == "" {
				t.Fatalf("error %q at %d for %d bytes", err.Msg, err.Offset, len(b))
			}
		} else if end < 1 || end > len(b) {
			t.Fatalf("end %d for %d bytes", end, len(b))
		}
		valid := err == nil && SkipSpace(b, end) == len(b)
		if want := json.Valid(b) && utf8.Valid(b); valid != want {
			t.Fatalf("Value says valid=%v, encoding/json says %v for %q", valid, want, b)
		}
	})
}
