package generator

import "testing"

// BenchmarkAppendNext measures NDJSON generation; one op is one event.
func BenchmarkAppendNext(b *testing.B) {
	for _, users := range []int{10000, 1000000} {
		b.Run(map[int]string{10000: "users=10k", 1000000: "users=1M"}[users], func(b *testing.B) {
			c := DefaultConfig()
			c.Users = users
			g, err := New(c)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			b.ResetTimer()
			bytes := 0
			for b.Loop() {
				if len(buf) > 60<<10 {
					bytes += len(buf)
					buf = buf[:0]
				}
				buf, _ = g.AppendNext(buf)
			}
			bytes += len(buf)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.SetBytes(int64(bytes / max(b.N, 1)))
		})
	}
}
