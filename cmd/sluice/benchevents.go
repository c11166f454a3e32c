package main

import (
	"errors"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/generator"
)

type benchBatch struct {
	body []byte
	n    int
}

// benchInput is the pre-generated load: its batches, their size in bytes
// and the event time they span.
type benchInput struct {
	batches []benchBatch
	payload int
	span    time.Duration
}

// benchBatches pre-generates the events as NDJSON batches. With enrich,
// each event carries country and device fields so that the benchmark
// statement groups by plain columns; the shipped pipeline gets the raw
// events and enriches them itself.
func benchBatches(o benchOptions, start time.Time, enrich bool) (in benchInput, err error) {
	cfg := generator.DefaultConfig()
	cfg.Seed, cfg.Users, cfg.Count, cfg.Rate = o.seed, o.users, o.events, o.rate
	cfg = cfg.WithUsersForRate()
	cfg.Start = start.Truncate(time.Millisecond)
	g, err := generator.New(cfg)
	if err != nil {
		return in, err
	}
	var f *benchFields
	if enrich {
		if f, err = newBenchFields(); err != nil {
			return in, err
		}
	}
	var last int64 // the latest event time generated
	for remaining := o.events; remaining > 0; {
		n := min(o.batch, remaining)
		buf := make([]byte, 0, n*480)
		for range n {
			e, _ := g.Next()
			last = max(last, e.TS)
			if f != nil {
				buf = f.append(buf, &e)
			} else {
				buf = append(e.AppendJSON(buf), '\n')
			}
		}
		in.batches = append(in.batches, benchBatch{body: buf, n: n})
		in.payload += len(buf)
		remaining -= n
	}
	in.span = time.Duration(last-cfg.Start.UnixMilli()) * time.Millisecond
	return in, nil
}

// benchFields computes country and device with the geo_country and
// device_type functions that the shipped enrichment statement calls, so
// both benchmarks see the same groups.
type benchFields struct {
	geo, device operators.ScalarFunc
	devices     map[string]operators.Value // by user agent: real traffic repeats them
	ip          []byte
}

func newBenchFields() (*benchFields, error) {
	geo, ok1 := operators.LookupScalar("geo_country")
	device, ok2 := operators.LookupScalar("device_type")
	if !ok1 || !ok2 {
		return nil, errors.New("geo_country and device_type are not registered: is sluice/plugins linked in?")
	}
	return &benchFields{geo: geo, device: device, devices: map[string]operators.Value{}}, nil
}

func (f *benchFields) append(dst []byte, e *generator.Event) []byte {
	dst = e.AppendJSON(dst)
	dst = append(dst[:len(dst)-1], `,"country":`...)
	f.ip = e.IP.AppendTo(f.ip[:0])
	dst = f.geo.Eval([]operators.Value{operators.Str(string(f.ip))}).AppendJSON(dst)
	dst = append(dst, `,"device":`...)
	d, ok := f.devices[e.UA]
	if !ok {
		d = f.device.Eval([]operators.Value{operators.Str(e.UA)})
		f.devices[e.UA] = d
	}
	dst = d.AppendJSON(dst)
	return append(dst, "}\n"...)
}
