package server

import (
	"testing"

	"sluice/operators"
)

// BenchmarkResultsEvent encodes one windowed row as a results event, the
// per-row work of a results stream.
func BenchmarkResultsEvent(b *testing.B) {
	row := operators.NewRow([]string{"window_start", "window_end", "country", "device", "views", "_key"},
		operators.Int(1746100800000), operators.Int(1746100810000), operators.Str("DE"), operators.Str("mobile"),
		operators.Int(1234), operators.Str("4b3f4bf036b0aad997088b30d5b49943"))
	for _, f := range []*follower{
		{name: "single", head: []byte("data: "), tail: []byte("\n\n")},
		{name: "multiplexed", head: []byte(`event: row` + "\n" + `data: {"query":"views_by_device","row":`), tail: []byte("}\n\n")},
	} {
		b.Run(f.name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				buf = f.live(buf[:0], row)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
