package rowtemplate

import (
	"strings"
	"testing"

	"sluice/operators"
)

// FuzzTemplate parses arbitrary text as a key template and renders it
// against a row: it may be refused, but not panic, and what it renders
// holds every literal part of the template.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"dau:{date}", "sess:{session_id}:{user_id}", "{a}{b}", "plain", "{", "}", "{{a}}", "a{b", "{ }", ""} {
		f.Add(s)
	}
	schema := operators.NewSchema("a", "b", "date", "session_id", "user_id")
	row := &operators.Record{Schema: schema, Values: []operators.Value{
		operators.Str("x"), operators.Int(7), operators.Null(), operators.RawJSON(`{"k":[1]}`), operators.Float(2.5),
	}, Raw: []byte(`{"c":"from raw"}`)}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse(src)
		if err != nil {
			return
		}
		_ = tpl.Check(schema.Names)
		out, err := tpl.Append(nil, row)
		if err != nil {
			return
		}
		for _, part := range strings.FieldsFunc(src, func(r rune) bool { return r == '{' || r == '}' }) {
			if !strings.Contains(src, "{"+part+"}") && !strings.Contains(string(out), part) {
				t.Fatalf("template %q rendered %q without its literal %q", src, out, part)
			}
		}
		tpl.Value(row)
	})
}
