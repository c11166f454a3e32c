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
	schema *Schema
	merged map[*Schema]*Schema // SELECT *, x: input overlay + x, per input schema
}

// init allocates the scratch space on first use.
func (m *Map) init() {
	if m.row == nil {
		m.row = make([]Value, m.Extract.Len()+2)
		m.schema = NewSchema(m.Columns...)
		m.merged = map[*Schema]*Schema{}
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
	if len(m.out) > 0 {
		emit(m.out)
	}
	clear(m.out)
}

// project builds an output record. The records and values of one batch
// are carved from two allocations.
func (m *Map) project(r *Record, rest int) *Record {
	if m.Star && len(m.Project) == 0 {
		return r
	}
	if len(m.recs) == cap(m.recs) {
		m.recs = make([]Record, 0, rest)
	}
	m.recs = m.recs[:len(m.recs)+1]
	out := &m.recs[len(m.recs)-1]
	out.Arrival = r.Arrival
	if !m.Star {
		out.Schema = m.schema
		out.Values = m.values(len(m.Project), rest)
		for i, e := range m.Project {
			out.Values[i] = e(m.row)
		}
		return out
	}
	out.Raw, out.Index = r.Raw, r.Index
	out.Schema = m.mergedSchema(r.Schema)
	out.Values = m.values(len(out.Schema.Names), rest)[:0]
	if r.Schema != nil {
		for i, n := range r.Schema.Names {
			if m.schema.Index(n) < 0 {
				out.Values = append(out.Values, r.Values[i])
			}
		}
	}
	for _, e := range m.Project {
		out.Values = append(out.Values, e(m.row))
	}
	return out
}

// values carves n values from the batch's slab, sized for rest more rows.
func (m *Map) values(n, rest int) []Value {
	if cap(m.vals)-len(m.vals) < n {
		m.vals = make([]Value, 0, n*rest)
	}
	k := len(m.vals)
	m.vals = m.vals[:k+n]
	return m.vals[k : k+n : k+n]
}

// mergedSchema is the input's named fields (minus those the projection
// redefines) followed by the projection's columns.
func (m *Map) mergedSchema(in *Schema) *Schema {
	if in == nil {
		return m.schema
	}
	if s, ok := m.merged[in]; ok {
		return s
	}
	var names []string
	for _, n := range in.Names {
		if m.schema.Index(n) < 0 {
			names = append(names, n)
		}
	}
	s := NewSchema(append(names, m.Columns...)...)
	m.merged[in] = s
	return s
}

func (m *Map) Tick(int64, Emit) {
	if m.Sessions != nil {
		m.Sessions.Tick()
	}
}

func (m *Map) Finish(Emit) {}

func (m *Map) StateSize() int {
	if m.Sessions != nil {
		return m.Sessions.Open()
	}
	return 0
}
