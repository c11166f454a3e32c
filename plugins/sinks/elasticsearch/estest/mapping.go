package estest

import (
	"encoding/json"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// field is one mapped field. params keeps what the mapping said besides
// type and properties, so that GET _mapping answers it back.
type field struct {
	Type   string
	Format string // date
	Props  map[string]*field
	params map[string]any
}

// mapping is an index's mapping: explicit fields plus the fields dynamic
// mapping added.
type mapping struct {
	Dynamic       string // "true", "false" or "strict"
	DateDetection bool
	Templates     []dynTemplate
	Props         map[string]*field
	rawTemplates  []any
}

type dynTemplate struct {
	name      string
	matchType string // match_mapping_type, "" or "*" for any
	match     string // field name pattern
	mapping   map[string]any
}

var fieldTypes = map[string]bool{
	"keyword": true, "text": true, "long": true, "integer": true, "short": true, "byte": true,
	"double": true, "float": true, "half_float": true, "scaled_float": true, "date": true,
	"boolean": true, "object": true, "nested": true, "ip": true, "flattened": true,
}

// metadataFields may not appear inside a document.
var metadataFields = map[string]bool{
	"_id": true, "_index": true, "_source": true, "_routing": true, "_version": true, "_seq_no": true,
	"_primary_term": true, "_field_names": true, "_ignored": true, "_type": true, "_tier": true,
	"_doc_count": true, "_data_stream_timestamp": true, "_nested_path": true, "_feature": true, "_ignored_source": true,
}

func newMapping() *mapping {
	return &mapping{Dynamic: "true", DateDetection: true, Props: map[string]*field{}}
}

// parseMapping reads the "mappings" object of a create-index request.
func parseMapping(raw any) (*mapping, *esError) {
	m := newMapping()
	if raw == nil {
		return m, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: mappings must be an object")
	}
	for k, v := range obj {
		switch k {
		case "properties":
			props, err := parseProps(v, "")
			if err != nil {
				return nil, err
			}
			m.Props = props
		case "dynamic":
			s := strings.ToLower(textOf(v))
			if s != "true" && s != "false" && s != "strict" && s != "runtime" {
				return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: Could not convert [dynamic.dynamic] to boolean")
			}
			m.Dynamic = s
		case "date_detection":
			b, ok := v.(bool)
			if !ok {
				return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: date_detection must be a boolean")
			}
			m.DateDetection = b
		case "dynamic_templates":
			ts, err := parseTemplates(v)
			if err != nil {
				return nil, err
			}
			m.Templates, m.rawTemplates = ts, v.([]any)
		case "_source", "_meta", "_routing", "numeric_detection", "dynamic_date_formats":
		default:
			return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: Root mapping definition has unsupported parameters:  [%s : %s]", k, compact(v))
		}
	}
	return m, nil
}

func parseProps(raw any, prefix string) (map[string]*field, *esError) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: Expected map for property [properties] on field [%s]", prefix)
	}
	props := map[string]*field{}
	for name, def := range obj {
		full := strings.TrimPrefix(prefix+"."+name, ".")
		d, ok := def.(map[string]any)
		if !ok {
			return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: Expected map for property [fields] on field [%s] but got a %T", full, def)
		}
		f := &field{Type: "object", params: map[string]any{}}
		if t, ok := d["type"]; ok {
			f.Type = textOf(t)
		}
		if !fieldTypes[f.Type] {
			return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: No handler for type [%s] declared on field [%s]", f.Type, full)
		}
		for k, v := range d {
			switch k {
			case "type":
			case "properties":
				if f.Type != "object" && f.Type != "nested" {
					return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: unknown parameter [properties] on mapper [%s] of type [%s]", full, f.Type)
				}
				sub, err := parseProps(v, full)
				if err != nil {
					return nil, err
				}
				f.Props = sub
			case "format":
				if f.Type != "date" {
					return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: unknown parameter [format] on mapper [%s] of type [%s]", full, f.Type)
				}
				f.Format = textOf(v)
			default:
				f.params[k] = v
			}
		}
		if f.Type == "date" && f.Format == "" {
			f.Format = "strict_date_optional_time||epoch_millis"
		}
		props[name] = f
	}
	return props, nil
}

func parseTemplates(raw any) ([]dynTemplate, *esError) {
	list, ok := raw.([]any)
	if !ok {
		return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: Dynamic template syntax error. An array of named objects is expected.")
	}
	var out []dynTemplate
	for _, item := range list {
		named, ok := item.(map[string]any)
		if !ok || len(named) != 1 {
			return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: Dynamic template syntax error. An array of named objects is expected.")
		}
		for name, def := range named {
			d, ok := def.(map[string]any)
			mp, ok2 := d["mapping"].(map[string]any)
			if !ok || !ok2 {
				return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: template [%s] must have a mapping", name)
			}
			t := dynTemplate{name: name, mapping: mp, matchType: textOf(d["match_mapping_type"]), match: textOf(d["match"])}
			if tt := textOf(mp["type"]); tt != "" && !fieldTypes[tt] {
				return nil, errorf(400, "mapper_parsing_exception", "Failed to parse mapping: dynamic template [%s] has invalid content: No mapper found for type [%s]", name, tt)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// render is the mapping as GET _mapping shows it.
func (m *mapping) render() map[string]any {
	out := map[string]any{"properties": renderProps(m.Props)}
	if m.Dynamic != "true" {
		out["dynamic"] = m.Dynamic
	}
	if !m.DateDetection {
		out["date_detection"] = false
	}
	if m.rawTemplates != nil {
		out["dynamic_templates"] = m.rawTemplates
	}
	return out
}

func renderProps(props map[string]*field) map[string]any {
	out := map[string]any{}
	for name, f := range props {
		d := maps.Clone(f.params)
		if d == nil {
			d = map[string]any{}
		}
		if f.Type != "object" {
			d["type"] = f.Type
		}
		if f.Format != "" {
			d["format"] = f.Format
		}
		if f.Props != nil {
			d["properties"] = renderProps(f.Props)
		}
		out[name] = d
	}
	return out
}

// lookup finds the mapping of a dotted field path.
func (m *mapping) lookup(name string) *field {
	props := m.Props
	parts := strings.Split(name, ".")
	for i, p := range parts {
		f, ok := props[p]
		if !ok {
			return nil
		}
		if i == len(parts)-1 {
			return f
		}
		props = f.Props
	}
	return nil
}

// pendingField is a field dynamic mapping will add once the document is accepted.
type pendingField struct {
	props map[string]*field
	name  string
	f     *field
}

// checkDoc validates a document against the mapping, as indexing would,
// and applies the dynamic mapping updates it implies.
func (m *mapping) checkDoc(doc map[string]any, id string) *esError {
	for k := range doc {
		if metadataFields[k] {
			return errorf(400, "document_parsing_exception", "[1:2] Field [%s] is a metadata field and cannot be added inside a document. Use the index API request parameters.", k)
		}
	}
	var pending []pendingField
	if err := m.checkObject(m.Props, doc, "", id, &pending); err != nil {
		return err
	}
	for _, p := range pending {
		if _, ok := p.props[p.name]; !ok {
			p.props[p.name] = p.f
		}
	}
	return nil
}

func (m *mapping) checkObject(props map[string]*field, obj map[string]any, prefix, id string, pending *[]pendingField) *esError {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		full := strings.TrimPrefix(prefix+"."+k, ".")
		f, ok := props[k]
		if !ok {
			switch m.Dynamic {
			case "strict":
				where := prefix
				if where == "" {
					where = "_doc"
				}
				return errorf(400, "strict_dynamic_mapping_exception", "[1:2] mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", k, where)
			case "false", "runtime":
				continue
			}
			f = m.infer(k, v)
			if f == nil {
				continue
			}
			*pending = append(*pending, pendingField{props, k, f})
		}
		if err := m.checkValue(f, v, full, id, pending); err != nil {
			return err
		}
	}
	return nil
}

// infer is dynamic mapping's choice for a new field, or nil for null and
// empty arrays, which add no mapping.
func (m *mapping) infer(name string, v any) *field {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if e != nil {
				return m.infer(name, e)
			}
		}
		return nil
	}
	var matchType string
	var f *field
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		matchType, f = "boolean", &field{Type: "boolean"}
	case json.Number:
		if _, err := x.Int64(); err == nil {
			matchType, f = "long", &field{Type: "long"}
		} else {
			matchType, f = "double", &field{Type: "float"}
		}
	case string:
		if _, ok := parseDate(x, "strict_date_optional_time"); ok && m.DateDetection {
			matchType, f = "date", &field{Type: "date", Format: "strict_date_optional_time||epoch_millis"}
		} else {
			matchType = "string"
			f = &field{Type: "text", params: map[string]any{"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": json.Number("256")}}}}
		}
	case map[string]any:
		matchType, f = "object", &field{Type: "object", Props: map[string]*field{}}
	}
	for _, t := range m.Templates {
		if t.matchType != "" && t.matchType != "*" && t.matchType != matchType {
			continue
		}
		if t.match != "" {
			if ok, _ := path.Match(t.match, name); !ok {
				continue
			}
		}
		nf := &field{Type: textOf(t.mapping["type"]), params: map[string]any{}}
		if nf.Type == "" {
			nf.Type = f.Type
		}
		for k, pv := range t.mapping {
			switch k {
			case "type":
			case "format":
				nf.Format = textOf(pv)
			default:
				nf.params[k] = pv
			}
		}
		if nf.Type == "date" && nf.Format == "" {
			nf.Format = "strict_date_optional_time||epoch_millis"
		}
		if nf.Type == "object" {
			nf.Props = map[string]*field{}
		}
		return nf
	}
	return f
}

// checkValue refuses a value the field's type cannot hold, with
// Elasticsearch's wording.
func (m *mapping) checkValue(f *field, v any, name, id string, pending *[]pendingField) *esError {
	if v == nil {
		return nil
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if err := m.checkValue(f, e, name, id, pending); err != nil {
				return err
			}
		}
		return nil
	}
	bad := func() *esError {
		return errorf(400, "document_parsing_exception", "[1:2] failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", name, f.Type, id, preview(v))
	}
	obj, isObj := v.(map[string]any)
	switch f.Type {
	case "object", "nested":
		if !isObj {
			return errorf(400, "document_parsing_exception", "[1:2] object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", name, name)
		}
		if f.Props == nil {
			f.Props = map[string]*field{}
		}
		return m.checkObject(f.Props, obj, name, id, pending)
	case "flattened":
		return nil
	}
	if isObj {
		return bad()
	}
	switch f.Type {
	case "keyword", "text", "ip":
		return nil
	case "long", "integer", "short", "byte":
		if _, ok := numberOf(v); !ok {
			return bad()
		}
	case "double", "float", "half_float", "scaled_float":
		if _, ok := numberOf(v); !ok {
			return bad()
		}
	case "boolean":
		switch x := v.(type) {
		case bool:
		case string:
			if x != "true" && x != "false" && x != "" {
				return bad()
			}
		default:
			return bad()
		}
	case "date":
		if _, ok := dateOf(v, f.Format); !ok {
			return bad()
		}
	}
	return nil
}

func preview(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return compact(v)
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return compact(v)
}

// numberOf reads a JSON number or a numeric string, as coercion does.
func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	case bool:
		return 0, false
	}
	return 0, false
}

// dateOf reads a date value under a format such as
// "strict_date_optional_time||epoch_millis", as epoch milliseconds.
func dateOf(v any, format string) (int64, bool) {
	for _, f := range strings.Split(format, "||") {
		switch x := v.(type) {
		case json.Number:
			if f == "epoch_millis" {
				if fl, err := x.Float64(); err == nil {
					return int64(fl), true
				}
			}
			if f == "epoch_second" {
				if fl, err := x.Float64(); err == nil {
					return int64(fl * 1000), true
				}
			}
		case string:
			if ms, ok := parseDate(x, f); ok {
				return ms, true
			}
		}
	}
	return 0, false
}

func parseDate(s, format string) (int64, bool) {
	switch format {
	case "epoch_millis":
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return int64(n), true
		}
	case "epoch_second":
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return int64(n * 1000), true
		}
	case "strict_date_optional_time", "date_optional_time", "strict_date_time", "date_time", "":
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UnixMilli(), true
			}
		}
	case "yyyy-MM-dd", "strict_date", "date":
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}
