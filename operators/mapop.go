package operators

// Map is a stateless statement: extract, filter, project.
type Map struct {
	Extract *Extractor
	Where   Expr // nil: every row
	// Star passes the input record through (SELECT *), adding Project's
	// columns, if any, as named values on top of it.
	Star    bool
	Columns []string
	Project []Expr
	// Sessions, when set, writes each event's session id and sequence
	// number into the two slots after the extracted fields.
	Sessions *SessionTagger

	row    []Value
	out    []*Record
	recs   []Record // this batch's output records
	vals   []Value  // and their values
	ratio  float64  // output rows per input row in the last batch
	schema *Schema
	merged map[*Schema]*overlay // SELECT *, x: per input schema
	last   *Schema              // the input schema of lastOv
	lastOv *overlay
}

// overlay is how SELECT *, x builds records from inputs of one schema: the
// input's named values it keeps (those x does not redefine), then x.
type overlay struct {
	schema *Schema
	keep   []int // positions in the input's Values
}

// init allocates the scratch space on first use.
func (m *Map) init() {
	if m.row == nil {
		m.row = make([]Value, m.Extract.Len()+2)
		m.schema = NewSchema(m.Columns...)
		m.merged = map[*Schema]*overlay{}
		m.ratio = 1
	}
}

func (m *Map) Process(batch []*Record, emit Emit) {
	m.init()
	m.out = m.out[:0]
	m.recs, m.vals = nil, nil
	for i, r := range batch {
		m.Extract.Extract(r, m.row)
		if m.Where != nil && !m.Where(m.row).Truthy() {
			continue
		}
		if m.Sessions != nil {
			n := m.Extract.Len()
			m.row[n], m.row[n+1] = m.Sessions.Tag(r, m.row)
		}
		m.out = append(m.out, m.project(r, len(batch)-i))
	}
	if len(batch) > 0 {
		m.ratio = float64(len(m.out)) / float64(len(batch))
	}
	if len(m.out) > 0 {
		emit(m.out)
	}
	clear(m.out)
}

// project builds an output record, carved from slabs of records and of
// values sized for the batch (see room), so a batch takes few allocations.
func (m *Map) project(r *Record, rest int) *Record {
	if m.Star && len(m.Project) == 0 {
		return r
	}
	if len(m.recs) == cap(m.recs) {
		m.recs = make([]Record, 0, m.room(rest))
	}
	m.recs = m.recs[:len(m.recs)+1]
	out := &m.recs[len(m.recs)-1]
	out.Arrival = r.Arrival
	if !m.Star {
		out.Schema = m.schema
		out.Values = m.values(len(m.Project))
		for i, e := range m.Project {
			out.Values[i] = e(m.row)
		}
		return out
	}
	out.Raw, out.Index = r.Raw, r.Index
	ov := m.overlay(r.Schema)
	out.Schema = ov.schema
	out.Values = m.values(len(ov.schema.Names))[:0]
	for _, i := range ov.keep {
		out.Values = append(out.Values, r.Values[i])
	}
	for _, e := range m.Project {
		out.Values = append(out.Values, e(m.row))
	}
	return out
}

// room is how many output rows to allocate for when rest input rows are
// left: a little more than the last batch's share of rows that passed
// predicts, so that a selective WHERE does not allocate for every input
// row, and twice the last allocation when the prediction ran short.
func (m *Map) room(rest int) int {
	want := int(m.ratio*float64(rest)) + rest/16 + 8
	if len(m.recs) > 0 {
		want = max(want, 2*cap(m.recs))
	}
	return min(rest, want)
}

// values carves n values from the batch's slab, sized for the rows the
// records' allocation has left, this one included.
func (m *Map) values(n int) []Value {
	if cap(m.vals)-len(m.vals) < n {
		m.vals = make([]Value, 0, n*(cap(m.recs)-len(m.recs)+1))
	}
	k := len(m.vals)
	m.vals = m.vals[:k+n]
	return m.vals[k : k+n : k+n]
}

// overlay is the output shape for inputs of schema in: the input's named
// fields (minus those the projection redefines) followed by the
// projection's columns. It is worked out once per input schema.
func (m *Map) overlay(in *Schema) *overlay {
	if in == m.last && m.lastOv != nil {
		return m.lastOv
	}
	ov := m.merged[in]
	if ov == nil {
		ov = &overlay{schema: m.schema}
		if in != nil {
			var names []string
			for i, n := range in.Names {
				if m.schema.Index(n) < 0 {
					names = append(names, n)
					ov.keep = append(ov.keep, i)
				}
			}
			ov.schema = NewSchema(append(names, m.Columns...)...)
		}
		m.merged[in] = ov
	}
	m.last, m.lastOv = in, ov
	return ov
}

func (m *Map) Tick(int64, Emit) {
	if m.Sessions != nil {
		m.Sessions.Tick()
	}
}

func (m *Map) Finish(Emit) {}

// CopyState takes over the session tags of a statement with the same state
// shape, so open sessions keep their ids and sequence numbers.
func (m *Map) CopyState(old Operator) {
	if m.Sessions == nil {
		return
	}
	o, ok := old.(*Map)
	if !ok || o.Sessions == nil {
		copyBySnapshot(m, old)
		return
	}
	t, ot := m.Sessions, o.Sessions
	if ot.open == nil {
		return
	}
	t.init()
	t.open, t.maxEvent, t.swept = ot.open, ot.maxEvent, ot.swept
	ot.open = nil
}

func (m *Map) StateSize() int {
	if m.Sessions != nil {
		return m.Sessions.Open()
	}
	return 0
}
