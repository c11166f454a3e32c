package rowtemplate

import (
	"testing"

	"sluice/operators"
)

func TestRender(t *testing.T) {
	row := &operators.Record{
		Raw:    []byte(`{"user":{"id":"u7"},"page":"home"}`),
		Schema: operators.NewSchema("date", "mid", "score", "ok", "none"),
		Values: []operators.Value{operators.Str("2026-11-21"), operators.Int(42), operators.Float(1.5), operators.Bool(true), operators.Null()},
	}
	for _, tc := range []struct {
		src, want, err string
		field          bool
	}{
		{src: "dau:{date}", want: "dau:2026-11-21"},
		{src: "{date}:{mid}", want: "2026-11-21:42"},
		{src: "rec:{user.id}:{page}", want: "rec:u7:home"},
		{src: "s{score}/{ok}", want: "s1.5/true"},
		{src: "constant", want: "constant"},
		{src: "mid", want: "42", field: true},
		{src: "user.id", want: "u7", field: true},
		{src: "x:{none}", err: `"x:{none}": column none is NULL or missing`},
		{src: "x:{absent}", err: `"x:{absent}": column absent is NULL or missing`},
	} {
		parse := Parse
		if tc.field {
			parse = Field
		}
		tpl, err := parse(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		got, err := tpl.Append(nil, row)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", tc.src, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		"a:{b":   `template "a:{b": '{' without '}'`,
		"a}:{b}": `template "a}:{b}": '}' without '{'`,
		"a:{}":   `template "a:{}": empty or nested column reference`,
		"{{a}}":  `template "{{a}}": empty or nested column reference`,
	} {
		if _, err := Parse(src); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}
}

func TestCheckNamesUnknownColumn(t *testing.T) {
	tpl, err := Parse("dau:{date}:{device}")
	if err != nil {
		t.Fatal(err)
	}
	want := `"dau:{date}:{device}" names column "device", which the statement does not output (it outputs date, mid)`
	if err := tpl.Check([]string{"date", "mid"}); err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	for _, cols := range [][]string{nil, {"*"}, {"date", "device"}} {
		if err := tpl.Check(cols); err != nil {
			t.Errorf("columns %v: %v", cols, err)
		}
	}
	key, _ := Field("_key")
	if err := key.Check([]string{"views"}); err != nil {
		t.Errorf("_key is implicit in windowed rows: %v", err)
	}
}

func TestValueKeepsKind(t *testing.T) {
	row := operators.NewRow([]string{"score", "item"}, operators.Float(2.5), operators.Str("i9"))
	f, _ := Field("score")
	if v, err := f.Value(row); err != nil || v != operators.Float(2.5) {
		t.Fatalf("%v, %v", v, err)
	}
	tpl, _ := Parse("item:{item}")
	if v, err := tpl.Value(row); err != nil || v != operators.Str("item:i9") {
		t.Fatalf("%v, %v", v, err)
	}
}
