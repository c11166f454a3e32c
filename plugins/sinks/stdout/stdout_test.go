package stdout

import (
	"bytes"
	"context"
	"testing"

	"sluice/operators"
)

func TestWritesJSONLines(t *testing.T) {
	var b bytes.Buffer
	s := New(&b)
	rows := []*operators.Record{
		operators.NewRow([]string{"page", "views"}, operators.Str("/a"), operators.Int(2)),
		{Raw: []byte(`{"x":1}`)},
	}
	if err := s.Write(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "{\"page\":\"/a\",\"views\":2}\n{\"x\":1}\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
