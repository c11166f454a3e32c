package sqlengine

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitAnnotations(t *testing.T) {
	src := "@Name(\"a\")\n@Sink(type='stdout', note=\"it's \\\"x\\\"\")\nSELECT 1 FROM s;\n\n-- second\n@Name(b)\nSELECT ';' FROM t"
	pieces, err := split(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(pieces) != 2 {
		t.Fatalf("got %d pieces", len(pieces))
	}
	a := pieces[0].annotations
	if len(a) != 2 || a[0].Name != "Name" || a[0].Positional != "a" || a[1].Args["type"] != "stdout" || a[1].Args["note"] != `it's "x"` {
		t.Fatalf("first statement annotations: %+v %+v", a[0], a[1])
	}
	if a[1].Pos != (Position{2, 1}) {
		t.Errorf("@Sink at %v, want line 2 column 1", a[1].Pos)
	}
	b := pieces[1]
	if len(b.annotations) != 1 || b.annotations[0].Positional != "b" || b.annotations[0].Pos.Line != 6 {
		t.Fatalf("second statement annotations: %+v", b.annotations)
	}
	if !strings.Contains(b.sql, "SELECT ';' FROM t") || strings.Contains(b.sql, "@") {
		t.Errorf("second statement text %q", b.sql)
	}
	// Blanking keeps every offset: the statement text sits where it was written.
	if got := src[b.offset : b.offset+len(b.sql)]; strings.TrimSpace(got[strings.Index(got, "SELECT"):]) != "SELECT ';' FROM t" {
		t.Errorf("offset points at %q", got)
	}
}

func TestAnnotationArgs(t *testing.T) {
	tests := []struct {
		src        string
		positional string
		args       map[string]string
		err        string
	}{
		{src: `@Name("x")`, positional: "x", args: map[string]string{}},
		{src: `@EventTime(column="ts", lateness=5s)`, args: map[string]string{"column": "ts", "lateness": "5s"}},
		{src: `@Sink( type = "redis" , key='dau:{date}' )`, args: map[string]string{"type": "redis", "key": "dau:{date}"}},
		{src: `@Widget(TYPE="bar")`, args: map[string]string{"type": "bar"}},
		{src: "@Name(\"x\", \"y\")", err: "only a single argument may be unnamed"},
		{src: `@Sink(type="a", type="b")`, err: "argument type given twice"},
		{src: `@Sink(type="a"`, err: "expected , or )"},
		{src: `@Name("unterminated)`, err: "expected a value"},
		{src: `@(x)`, err: "expected an annotation name"},
	}
	for _, tc := range tests {
		a, _, err := parseAnnotation(tc.src+"\nSELECT 1 FROM s", 0)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Msg, tc.err) {
				t.Errorf("%s: error %v, want %q", tc.src, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if a.Positional != tc.positional || !reflect.DeepEqual(a.Args, tc.args) {
			t.Errorf("%s: got %q %v", tc.src, a.Positional, a.Args)
		}
	}
}

func TestAnnotationWithoutStatement(t *testing.T) {
	_, err := split("SELECT 1 FROM s;\n@Name(\"dangling\")\n")
	if err == nil || !strings.Contains(err.Error(), "line 2, column 1: annotation @Name is not followed by a statement") {
		t.Fatalf("got %v", err)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"@Name(\"a\")\nSELECT 1 FROM s",
		"@Sink(type='x', a=\"b\\\"c\")\nSELECT a FROM b; SELECT c FROM d",
		"@EventTime(column=ts, lateness=5s)\n@Widget(type=\"bar\")\nSELECT 1",
		"@(", "@x(a=", "'@x'", "-- @x\nSELECT 1", "@x('')\n;", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		pieces, err := split(src)
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, p := range pieces {
			if p.offset < 0 || p.offset+len(p.sql) > len(src) {
				t.Fatalf("piece outside the source: %d+%d of %d", p.offset, len(p.sql), len(src))
			}
			for _, a := range p.annotations {
				if a.Pos.Line < 1 || a.Pos.Column < 1 {
					t.Fatalf("bad position %v", a.Pos)
				}
			}
		}
	})
}
