package estest

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// hit is one document a search looks at.
type hit struct {
	ix *index
	id string
	d  *doc
}

// fieldOf is the mapping of name in the hit's index; "x.keyword" resolves
// to the keyword sub-field dynamic mapping gives text fields.
func (h hit) fieldOf(name string) (f *field, path string) {
	if f := h.ix.mapping.lookup(name); f != nil {
		return f, name
	}
	if base, ok := strings.CutSuffix(name, ".keyword"); ok {
		if f := h.ix.mapping.lookup(base); f != nil && f.Type == "text" {
			if _, ok := f.params["fields"].(map[string]any)["keyword"]; ok {
				return &field{Type: "keyword"}, base
			}
		}
	}
	return nil, name
}

// values are the values at a dotted path, arrays flattened.
func (h hit) values(path string) []any {
	var out []any
	var walk func(v any, parts []string)
	walk = func(v any, parts []string) {
		if arr, ok := v.([]any); ok {
			for _, e := range arr {
				walk(e, parts)
			}
			return
		}
		if len(parts) == 0 {
			if v != nil {
				out = append(out, v)
			}
			return
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		// Both nested objects and literal dotted keys ("a.b": 1) count.
		for i := len(parts); i >= 1; i-- {
			if sub, ok := obj[strings.Join(parts[:i], ".")]; ok {
				walk(sub, parts[i:])
			}
		}
	}
	walk(h.d.parsed, strings.Split(path, "."))
	return out
}

var searchKeys = map[string]bool{
	"query": true, "size": true, "from": true, "aggs": true, "aggregations": true, "sort": true,
	"track_total_hits": true, "_source": true,
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	target := r.PathValue("index")
	if target == "" {
		target = "_all"
	}
	names, e := s.resolve(target)
	if e != nil {
		writeError(w, e)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errorf(400, "parse_exception", "read body: %v", err))
		return
	}
	req := map[string]any{}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			writeError(w, errorf(400, "parsing_exception", "[1:1] failed to parse search request: %v", err))
			return
		}
	}
	for k := range req {
		if !searchKeys[k] {
			writeError(w, errorf(400, "parsing_exception", "Unknown key for a START_OBJECT in [%s].", k))
			return
		}
	}
	size, from := 10, 0
	for _, p := range []struct {
		name string
		dst  *int
	}{{"size", &size}, {"from", &from}} {
		if v, ok := req[p.name]; ok {
			n, err := strconv.Atoi(textOf(v))
			if err != nil || n < 0 {
				writeError(w, errorf(400, "illegal_argument_exception", "[%s] parameter cannot be negative or non-numeric, found [%s]", p.name, textOf(v)))
				return
			}
			*p.dst = n
		}
		if v := r.URL.Query().Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, errorf(400, "illegal_argument_exception", "[%s] parameter cannot be negative or non-numeric, found [%s]", p.name, v))
				return
			}
			*p.dst = n
		}
	}
	if size+from > 10000 {
		writeError(w, errorf(400, "illegal_argument_exception", "Result window is too large, from + size must be less than or equal to: [10000] but was [%d].", size+from))
		return
	}
	match := func(hit) bool { return true }
	if q, ok := req["query"]; ok {
		if match, e = compileQuery(q); e != nil {
			writeError(w, e)
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []hit
	for _, n := range names {
		ix := s.indices[n]
		var docs []hit
		for id, d := range ix.docs {
			docs = append(docs, hit{ix, id, d})
		}
		slices.SortFunc(docs, func(a, b hit) int { return cmp.Compare(a.d.seqNo, b.d.seqNo) })
		for _, h := range docs {
			if match(h) {
				hits = append(hits, h)
			}
		}
	}
	var sortKeys [][]any
	if spec, ok := req["sort"]; ok {
		if sortKeys, e = sortHits(spec, hits); e != nil {
			writeError(w, e)
			return
		}
	}
	resp := map[string]any{
		"timed_out": false,
		"_shards":   map[string]int{"total": len(names), "successful": len(names), "skipped": 0, "failed": 0},
	}
	if defs, ok := req["aggs"]; ok {
		req["aggregations"] = defs
	}
	if defs, ok := req["aggregations"]; ok {
		aggs, e := runAggs(defs, hits)
		if e != nil {
			writeError(w, e)
			return
		}
		resp["aggregations"] = aggs
	}
	out := []map[string]any{}
	for i := from; i < len(hits) && i < from+size; i++ {
		h := hits[i]
		item := map[string]any{"_index": h.ix.name, "_id": h.id, "_score": 1.0, "_source": h.d.source}
		if sortKeys != nil {
			item["_score"], item["sort"] = nil, sortKeys[i]
		}
		out = append(out, item)
	}
	var maxScore any = 1.0
	if len(hits) == 0 || sortKeys != nil {
		maxScore = nil
	}
	resp["hits"] = map[string]any{"total": map[string]any{"value": len(hits), "relation": "eq"}, "max_score": maxScore, "hits": out}
	resp["took"] = time.Since(start).Milliseconds()
	writeJSON(w, 200, resp)
}

// compileQuery turns a query DSL object into a predicate.
func compileQuery(q any) (func(hit) bool, *esError) {
	obj, ok := q.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, errorf(400, "parsing_exception", "[_na] query malformed, must start with start_object and hold exactly one query")
	}
	for kind, body := range obj {
		args, ok := body.(map[string]any)
		if !ok {
			return nil, errorf(400, "parsing_exception", "[%s] query malformed, no start_object after query name", kind)
		}
		switch kind {
		case "match_all":
			return func(hit) bool { return true }, nil
		case "match", "term":
			name, v, e := fieldArg(kind, args, map[string]string{"match": "query", "term": "value"}[kind])
			if e != nil {
				return nil, e
			}
			analyzed := kind == "match"
			return func(h hit) bool { return termMatch(h, name, v, analyzed) }, nil
		case "terms":
			if len(args) != 1 {
				return nil, errorf(400, "parsing_exception", "[terms] query does not support multiple fields")
			}
			for name, list := range args {
				vs, ok := list.([]any)
				if !ok {
					return nil, errorf(400, "parsing_exception", "[terms] query does not support [%s]", name)
				}
				return func(h hit) bool {
					return slices.ContainsFunc(vs, func(v any) bool { return termMatch(h, name, v, false) })
				}, nil
			}
		case "range":
			if len(args) != 1 {
				return nil, errorf(400, "parsing_exception", "[range] query doesn't support multiple fields")
			}
			for name, b := range args {
				bounds, ok := b.(map[string]any)
				if !ok {
					return nil, errorf(400, "parsing_exception", "[range] query malformed, no start_object after field name")
				}
				for k := range bounds {
					if k != "gt" && k != "gte" && k != "lt" && k != "lte" && k != "format" {
						return nil, errorf(400, "parsing_exception", "[range] query does not support [%s]", k)
					}
				}
				return func(h hit) bool { return rangeMatch(h, name, bounds) }, nil
			}
		case "exists":
			name := textOf(args["field"])
			return func(h hit) bool { _, p := h.fieldOf(name); return len(h.values(p)) > 0 }, nil
		case "bool":
			return compileBool(args)
		}
		return nil, errorf(400, "parsing_exception", "unknown query [%s]", kind)
	}
	return nil, nil
}

// fieldArg reads {"field": v} or {"field": {"query"|"value": v}}.
func fieldArg(kind string, args map[string]any, inner string) (string, any, *esError) {
	if len(args) != 1 {
		return "", nil, errorf(400, "parsing_exception", "[%s] query doesn't support multiple fields, found [%d]", kind, len(args))
	}
	for name, v := range args {
		if o, ok := v.(map[string]any); ok {
			qv, ok := o[inner]
			if !ok {
				return "", nil, errorf(400, "parsing_exception", "[%s] query on field [%s] needs [%s]", kind, name, inner)
			}
			return name, qv, nil
		}
		return name, v, nil
	}
	return "", nil, nil
}

func compileBool(args map[string]any) (func(hit) bool, *esError) {
	clauses := map[string][]func(hit) bool{}
	for k, v := range args {
		switch k {
		case "must", "filter", "should", "must_not":
		case "minimum_should_match", "boost":
			continue
		default:
			return nil, errorf(400, "parsing_exception", "[bool] query does not support [%s]", k)
		}
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		for _, q := range list {
			m, e := compileQuery(q)
			if e != nil {
				return nil, e
			}
			clauses[k] = append(clauses[k], m)
		}
	}
	return func(h hit) bool {
		for _, m := range append(clauses["must"], clauses["filter"]...) {
			if !m(h) {
				return false
			}
		}
		for _, m := range clauses["must_not"] {
			if m(h) {
				return false
			}
		}
		if len(clauses["should"]) == 0 || len(clauses["must"])+len(clauses["filter"]) > 0 {
			return true
		}
		return slices.ContainsFunc(clauses["should"], func(m func(hit) bool) bool { return m(h) })
	}, nil
}

// termMatch compares a query value with a document's values as the
// field's type does: exact for keyword, numeric for numbers and dates,
// by lower-cased tokens for text (all tokens for match, the whole term for term).
func termMatch(h hit, name string, qv any, analyzed bool) bool {
	f, path := h.fieldOf(name)
	if f == nil {
		return false
	}
	for _, v := range h.values(path) {
		switch f.Type {
		case "text":
			doc := tokens(textOf(v))
			want := []string{textOf(qv)}
			if analyzed {
				want = tokens(textOf(qv))
			}
			if len(want) > 0 && slices.ContainsFunc(want, func(t string) bool { return slices.Contains(doc, t) }) {
				return true
			}
		case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float":
			a, ok1 := numberOf(v)
			b, ok2 := numberOf(qv)
			if ok1 && ok2 && a == b {
				return true
			}
		case "date":
			a, ok1 := dateOf(v, f.Format)
			b, ok2 := dateOf(qv, f.Format)
			if ok1 && ok2 && a == b {
				return true
			}
		case "boolean":
			if textOf(v) == textOf(qv) {
				return true
			}
		default:
			if textOf(v) == textOf(qv) {
				return true
			}
		}
	}
	return false
}

func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func rangeMatch(h hit, name string, bounds map[string]any) bool {
	f, path := h.fieldOf(name)
	if f == nil {
		return false
	}
	for _, v := range h.values(path) {
		ok := true
		for op, b := range bounds {
			if op == "format" {
				continue
			}
			c, comparable := compareAs(f, v, b)
			if !comparable {
				ok = false
				break
			}
			switch op {
			case "gt":
				ok = ok && c > 0
			case "gte":
				ok = ok && c >= 0
			case "lt":
				ok = ok && c < 0
			case "lte":
				ok = ok && c <= 0
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// compareAs orders two values under a field's type.
func compareAs(f *field, a, b any) (int, bool) {
	switch f.Type {
	case "date":
		x, ok1 := dateOf(a, f.Format)
		y, ok2 := dateOf(b, f.Format)
		return cmp.Compare(x, y), ok1 && ok2
	case "keyword", "text", "boolean", "ip":
		return strings.Compare(textOf(a), textOf(b)), true
	}
	x, ok1 := numberOf(a)
	y, ok2 := numberOf(b)
	return cmp.Compare(x, y), ok1 && ok2
}

// sortHits orders hits by a sort spec and returns each hit's sort values.
func sortHits(spec any, hits []hit) ([][]any, *esError) {
	list, ok := spec.([]any)
	if !ok {
		list = []any{spec}
	}
	type key struct {
		name string
		desc bool
	}
	var keys []key
	for _, item := range list {
		switch x := item.(type) {
		case string:
			keys = append(keys, key{x, x == "_score"})
		case map[string]any:
			for name, o := range x {
				order := textOf(o)
				if m, ok := o.(map[string]any); ok {
					order = textOf(m["order"])
				}
				if order != "" && order != "asc" && order != "desc" {
					return nil, errorf(400, "illegal_argument_exception", "Unknown SortOrder [%s]", order)
				}
				keys = append(keys, key{name, order == "desc"})
			}
		default:
			return nil, errorf(400, "parsing_exception", "[sort] malformed")
		}
	}
	vals := make([][]any, len(hits))
	for i, h := range hits {
		for _, k := range keys {
			var v any
			switch k.name {
			case "_score":
				v = 1.0
			case "_doc":
				v = h.d.seqNo
			default:
				f, path := h.fieldOf(k.name)
				if f != nil && f.Type == "text" {
					return nil, fielddataError(k.name, h.ix.name)
				}
				if vs := h.values(path); len(vs) > 0 && f != nil {
					v = sortValue(f, vs[0])
				}
			}
			vals[i] = append(vals[i], v)
		}
	}
	idx := make([]int, len(hits))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		for j, k := range keys {
			c := compareSortValues(vals[a][j], vals[b][j])
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	sortedHits := make([]hit, len(hits))
	sortedVals := make([][]any, len(hits))
	for i, j := range idx {
		sortedHits[i], sortedVals[i] = hits[j], vals[j]
	}
	copy(hits, sortedHits)
	return sortedVals, nil
}

func sortValue(f *field, v any) any {
	switch f.Type {
	case "date":
		ms, _ := dateOf(v, f.Format)
		return ms
	case "keyword", "boolean", "ip":
		return textOf(v)
	}
	n, _ := numberOf(v)
	return n
}

// compareSortValues puts missing values last, as Elasticsearch does.
func compareSortValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	}
	return 0
}

func fielddataError(name, index string) *esError {
	return errorf(400, "illegal_argument_exception", "Fielddata is disabled on [%s] in [%s]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [%s] in order to load field data by uninverting the inverted index. Note that this can use significant memory.", name, index, name)
}

// jsonNumber keeps a float that is whole printing as 3.0 rather than 3.
func jsonNumber(f float64) json.Number {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return json.Number(s)
}
