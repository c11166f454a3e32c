package functions

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/influxdata/tdigest"

	"sluice/operators"
)

func TestPercentileParams(t *testing.T) {
	fn, _ := operators.LookupAggregate("PERCENTILE")
	for _, p := range []operators.Value{i(0), i(-5), f(100.5), s("95"), null, f(math.NaN())} {
		if _, err := fn.New([]operators.Value{p}); err == nil {
			t.Errorf("PERCENTILE(x, %v) accepted", p)
		}
	}
	for _, p := range []operators.Value{i(50), i(100), f(99.9), f(0.1)} {
		if _, err := fn.New([]operators.Value{p}); err != nil {
			t.Errorf("PERCENTILE(x, %v): %v", p, err)
		}
	}
}

// Small inputs are exact, interpolated at rank q·n − ½ between order statistics.
func TestPercentileSmallIsExact(t *testing.T) {
	oneToTen := []operators.Value{i(7), i(3), i(10), i(1), i(5), i(2), i(9), i(4), i(8), i(6)}
	for _, c := range []struct {
		p    operators.Value
		in   []operators.Value
		want operators.Value
	}{
		{i(50), oneToTen, f(5.5)},
		{i(10), oneToTen, f(1.5)},
		{i(25), oneToTen, f(3)},
		{i(95), oneToTen, f(10)},
		{i(100), oneToTen, f(10)},
		{i(1), oneToTen, f(1)},
		{i(50), []operators.Value{f(2.5)}, f(2.5)},
		{i(50), []operators.Value{i(1), i(2), i(3), i(4), i(5)}, f(3)},
		{i(50), []operators.Value{s("10"), s("20"), null, s("n/a"), js(`[1]`), b(true)}, f(10)},
		{i(50), []operators.Value{null, f(math.NaN()), f(math.Inf(1))}, null},
		{i(50), nil, null},
	} {
		agg := newAggregate(t, "PERCENTILE", c.p)
		for _, v := range c.in {
			agg.Add(v)
		}
		if got := agg.Result(); got != c.want {
			t.Errorf("PERCENTILE(%v, %v) = %v, want %v", c.in, c.p, got, c.want)
		}
	}
	med := newAggregate(t, "MEDIAN")
	for _, v := range oneToTen {
		med.Add(v)
	}
	if got := med.Result(); got != f(5.5) {
		t.Errorf("MEDIAN(1..10) = %v, want 5.5", got)
	}
}

// rankError is how far the answer's rank in sorted data is from q, as a
// fraction of the data.
func rankError(sorted []float64, q, answer float64) float64 {
	lo := sort.SearchFloat64s(sorted, answer)
	hi := sort.Search(len(sorted), func(i int) bool { return sorted[i] > answer })
	want := q * float64(len(sorted))
	switch {
	case want < float64(lo):
		return (float64(lo) - want) / float64(len(sorted))
	case want > float64(hi):
		return (want - float64(hi)) / float64(len(sorted))
	}
	return 0
}

// Large inputs go through the t-digest; its answers are within a small rank
// error of the true quantile: measured at most 0.1% at the median and
// 0.03% at p99; the test allows twice that.
func TestPercentileDistributions(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() float64{
		"uniform":     func() float64 { return r.Float64() * 1000 },
		"normal":      func() float64 { return 100 + 15*r.NormFloat64() },
		"exponential": func() float64 { return 50 * r.ExpFloat64() },
		"latency":     func() float64 { return math.Exp(3 + 0.8*r.NormFloat64()) }, // log-normal
	}
	for name, gen := range dists {
		for _, n := range []int{exactValues + 1, 10_000, 200_000} {
			data := make([]float64, n)
			for k := range data {
				data[k] = gen()
			}
			sorted := slices.Sorted(slices.Values(data))
			for _, c := range []struct{ p, tol float64 }{{50, 0.002}, {90, 0.001}, {95, 0.001}, {99, 0.0006}, {99.9, 0.0004}} {
				agg := newAggregate(t, "PERCENTILE", f(c.p))
				for _, x := range data {
					agg.Add(f(x))
				}
				got := agg.Result()
				// One rank is the finest any answer can be.
				tol := c.tol + 1/float64(n)
				if e := rankError(sorted, c.p/100, got.Float64()); e > tol {
					t.Errorf("%s n=%d p%v = %.4f: rank error %.4f > %.4f", name, n, c.p, got.Float64(), e, tol)
				}
			}
		}
	}
	// A known closed form: the median of the uniform 1..100000 is 50000.5,
	// here within the digest's accuracy: 0.2% of the rank.
	agg := newAggregate(t, "MEDIAN")
	for _, k := range r.Perm(100_000) {
		agg.Add(i(int64(k + 1)))
	}
	if got := agg.Result().Float64(); math.Abs(got-50_000.5) > 200 {
		t.Errorf("MEDIAN(1..100000) = %v, want 50000.5 ± 200", got)
	}
}

// A restored percentile answers exactly like the one it was taken from,
// now and after more values, at every stage: exact, waiting to merge,
// merged. That is what lets a replay after a crash write the numbers a
// run without a crash wrote.
func TestPercentileRoundTripIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 7, exactValues, exactValues + 1, pendingMax - 1, pendingMax, pendingMax + 1, 5000, 50_000} {
		for _, p := range []float64{50, 95, 99} {
			agg := newAggregate(t, "PERCENTILE", f(p))
			for range n {
				agg.Add(f(math.Round(r.NormFloat64()*100) / 10)) // ties, as integer latencies have
			}
			restored := roundTrip(t, agg, newAggregate(t, "PERCENTILE", f(p)))
			for k := range 3000 {
				x := f(r.NormFloat64())
				agg.Add(x)
				restored.Add(x)
				if k%97 == 0 {
					if a, b := agg.Result(), restored.Result(); a != b {
						t.Fatalf("n=%d p%v, %d more: original %v, restored %v", n, p, k+1, a, b)
					}
				}
			}
			if a, b := agg.Result(), restored.Result(); a != b {
				t.Errorf("n=%d p%v: after more adds original %v, restored %v", n, p, a, b)
			}
		}
	}
}

// Asking for a result or taking a snapshot leaves the state as it was: a
// percentile that was asked and snapshotted after every value answers
// like one that never was.
func TestPercentileReadsDoNotDisturb(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	quiet, busy := newAggregate(t, "PERCENTILE", i(90)), newAggregate(t, "PERCENTILE", i(90))
	for k := range 20_000 {
		x := f(r.ExpFloat64() * 40)
		quiet.Add(x)
		busy.Add(x)
		if k%13 == 0 {
			busy.Result()
			if _, err := busy.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if a, b := quiet.Result(), busy.Result(); a != b {
		t.Fatalf("never read: %v, read and snapshotted: %v", a, b)
	}
}

// States written before the waiting values and extremes were kept (tag 2:
// centroids only) still restore, answering within the digest's accuracy.
func TestPercentileRestoresCentroidsOnly(t *testing.T) {
	var state []byte
	state = append(state, stateDigest)
	for k := range 200 {
		state = appendFloats(state, float64(k), 5) // 1,000 values, 0..199
	}
	agg := newAggregate(t, "MEDIAN")
	if err := agg.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if got := agg.Result().Float64(); math.Abs(got-99.5) > 1 {
		t.Fatalf("median %v, want about 99.5", got)
	}
}

func TestPercentileRefusesBadState(t *testing.T) {
	merged := func(n float64, rest ...float64) []byte {
		return appendFloats([]byte{stateMerge}, append([]float64{n}, rest...)...)
	}
	for name, bad := range map[string][]byte{
		"empty":                  nil,
		"tag alone":              {stateMerge},
		"unknown tag":            {9},
		"ragged":                 {stateExact, 1, 2},
		"odd centroid floats":    {stateDigest, 0, 0, 0, 0, 0, 0, 0, 0},
		"too many exact":         appendFloats([]byte{stateExact}, make([]float64, exactValues+1)...),
		"centroid count cut":     merged(2, 1, 1, 5),
		"fractional count":       merged(0.5, 1, 1, 1, 1),
		"negative count":         merged(-1, 1, 1),
		"zero weight":            merged(1, 3, 0, 3, 3),
		"unsorted centroids":     merged(2, 5, 1, 4, 1, 4, 5),
		"min above max":          merged(1, 3, 1, 4, 2),
		"NaN waiting":            merged(1, 3, 1, 3, 3, math.NaN()),
		"NaN count":              merged(math.NaN(), 3, 1, 3, 3),
		"NaN mean":               merged(1, math.NaN(), 1, 3, 3),
		"infinite weight":        merged(1, 3, math.Inf(1), 3, 3),
		"infinite max":           merged(1, 3, 1, 3, math.Inf(1)),
		"infinite exact value":   appendFloats([]byte{stateExact}, 1, math.Inf(-1)),
		"NaN centroid of tag 2":  appendFloats([]byte{stateDigest}, math.NaN(), 1),
		"a digest of nothing":    merged(0, 1, 1),
		"a digest of few values": merged(0, append([]float64{1, 1}, make([]float64, exactValues)...)...),
		"more waiting than room": merged(0, append([]float64{1, 1}, make([]float64, pendingMax)...)...),
		"a count that overflows": merged(1<<62, 3, 1, 3, 3),
		"no room for the range":  merged(0, 1),
	} {
		if err := newAggregate(t, "MEDIAN").UnmarshalBinary(bad); err == nil {
			t.Errorf("%s: state %v accepted", name, bad)
		}
	}
}

func BenchmarkPercentileAdd(b *testing.B) {
	agg := newAggregate(b, "PERCENTILE", i(95))
	r := rand.New(rand.NewPCG(5, 6))
	values := make([]operators.Value, 4096)
	for k := range values {
		values[k] = f(math.Exp(3 + 0.8*r.NormFloat64()))
	}
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		agg.Add(values[n%len(values)])
	}
}

// digestQuantile is the library's TDigest.Quantile with the extremes given
// rather than kept: over a digest whose outer centroids are single values
// (so that the library's extremes are the true ones), both answer alike.
func TestDigestQuantileIsTheLibrarys(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	for _, n := range []int{2, 10, 500, 3000} {
		d := tdigest.NewWithCompression(compression)
		lo, hi := math.Inf(1), math.Inf(-1)
		for range n {
			x := math.Exp(3 + r.NormFloat64())
			d.Add(x, 1)
			lo, hi = min(lo, x), max(hi, x)
		}
		cs := d.Centroids()
		if cs[0].Weight != 1 || cs[len(cs)-1].Weight != 1 {
			t.Fatalf("n=%d: outer centroids weigh %v and %v", n, cs[0].Weight, cs[len(cs)-1].Weight)
		}
		for _, q := range []float64{0, 0.001, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
			if got, want := digestQuantile(cs, lo, hi, q), d.Quantile(q); got != want {
				t.Errorf("n=%d q=%v: %v, the library says %v", n, q, got, want)
			}
		}
	}
}
