package operators

import (
	"math"
	"testing"
)

func TestAppendTextIsText(t *testing.T) {
	for _, v := range []Value{Str("héllo"), RawJSON(`{"a":1}`), Int(-42), Int(0), Float(2.5), Float(1e21), Float(math.Inf(-1)), Bool(true), Bool(false), Null()} {
		if got := string(v.AppendText([]byte("x"))); got != "x"+v.Text() {
			t.Errorf("%v: AppendText %q, Text %q", v, got, v.Text())
		}
	}
	var buf [32]byte
	v := Float(3.25)
	if n := testing.AllocsPerRun(100, func() { v.AppendText(buf[:0]) }); n != 0 {
		t.Errorf("AppendText allocates %v times", n)
	}
}
