package operators

// KeyedInput is what grouping operators (Aggregate, Sessions) do with each
// event before grouping it: extract its fields, filter it, read its time,
// and evaluate its group keys and aggregate arguments.
type KeyedInput struct {
	Extract   *Extractor
	Where     Expr
	EventTime Expr // nil: arrival time
	Keys      []Expr
	Aggs      []AggSpec
	Counters  *Counters

	row, kv, args []Value
	// adders are the aggregates that take each event's argument: all but
	// those answering from another's state (AggSpec.SharedWith).
	adders []int
}

func (in *KeyedInput) initInput() {
	in.row = make([]Value, in.Extract.Len())
	in.kv = make([]Value, len(in.Keys))
	in.args = make([]Value, len(in.Aggs))
	in.adders = in.adders[:0]
	for i, ag := range in.Aggs {
		if ag.SharedWith == 0 {
			in.adders = append(in.adders, i)
		}
	}
}

// addArgs adds the current event's arguments to aggs.
func (in *KeyedInput) addArgs(aggs []Aggregator) {
	for _, i := range in.adders {
		aggs[i].Add(in.args[i])
	}
}

// read prepares r's keys (in.kv) and aggregate arguments (in.args) and
// returns its time; ok is false when WHERE drops it or its event time is
// not a time (counted as an error).
func (in *KeyedInput) read(r *Record) (ts int64, ok bool) {
	in.Extract.Extract(r, in.row)
	if in.Where != nil && !in.Where(in.row).Truthy() {
		return 0, false
	}
	ts = r.Arrival
	if in.EventTime != nil {
		if ts, ok = TimeMillis(in.EventTime(in.row)); !ok {
			in.Counters.Errors.Add(1)
			return 0, false
		}
	}
	for i, k := range in.Keys {
		in.kv[i] = groupValue(k(in.row))
	}
	for _, i := range in.adders {
		if ag := in.Aggs[i]; ag.Arg == nil {
			in.args[i] = Int(1) // COUNT(*)
		} else {
			in.args[i] = ag.Arg(in.row)
		}
	}
	return ts, true
}
