package elasticsearch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/buger/jsonparser"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"sluice/operators"
)

// createBody is the PUT /{index} body for an index whose first row is r:
// string columns as keyword, window bounds and the time column as dates in
// epoch milliseconds, numbers as long or double, objects as object. Later
// columns map dynamically, strings again as keyword, and strings that look
// like dates stay strings.
func (w *writer) createBody(r *operators.Record) []byte {
	b := []byte(`{`)
	if len(w.settings) > 0 {
		b = append(b, `"settings":`...)
		b = append(b, w.settings...)
		b = append(b, ',')
	}
	b = append(b, `"mappings":{"date_detection":false,"dynamic_templates":[{"strings_as_keywords":{"match_mapping_type":"string","mapping":{"type":"keyword"}}}],"properties":{`...)
	n := 0
	add := func(name, typ string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = operators.AppendJSONString(b, name)
		b = append(b, `:{"type":"`...)
		b = append(b, typ...)
		b = append(b, '"')
		if typ == "date" {
			b = append(b, `,"format":"epoch_millis||strict_date_optional_time"`...)
		}
		b = append(b, '}')
	}
	seen := map[string]bool{}
	if r.Schema != nil {
		for i, name := range r.Schema.Names {
			seen[name] = true
			if t := w.fieldType(name, r.Values[i]); t != "" {
				add(name, t)
			}
		}
	}
	if r.Raw != nil {
		_ = jsonparser.ObjectEach(r.Raw, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
			name := string(k)
			if seen[name] {
				return nil
			}
			seen[name] = true
			if t := w.fieldType(name, operators.FromJSON(v, vt)); t != "" {
				add(name, t)
			}
			return nil
		})
	}
	return append(b, `}}}`...)
}

// fieldType is the mapping type of a column, or "" to leave it to dynamic
// mapping (NULLs and arrays, whose element type is unknown here).
func (w *writer) fieldType(name string, v operators.Value) string {
	if name == "window_start" || name == "window_end" || name == w.timeCol {
		return "date"
	}
	switch v.Kind {
	case operators.KindString:
		return "keyword"
	case operators.KindInt:
		return "long"
	case operators.KindFloat:
		return "double"
	case operators.KindBool:
		return "boolean"
	case operators.KindJSON:
		if strings.HasPrefix(v.S, "{") {
			return "object"
		}
	}
	return ""
}

// ensureIndex creates an index once, with its mapping. An index that
// already exists (made by an earlier run or another process) is fine.
// A refusal Elasticsearch would repeat comes back as refused.
func (w *writer) ensureIndex(ctx context.Context, name string, first *operators.Record) (refused string, err error) {
	res, err := esapi.IndicesCreateRequest{Index: name, Body: bytes.NewReader(w.createBody(first))}.Do(ctx, w.client)
	if err != nil {
		return "", fmt.Errorf("elasticsearch create index %s: %w", name, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("elasticsearch create index %s: read answer: %w", name, err)
	}
	typ, reason := errorOf(body)
	switch {
	case res.StatusCode < 300 || typ == "resource_already_exists_exception":
		w.created[name] = true
		return "", nil
	case retryableStatus(res.StatusCode):
		return "", fmt.Errorf("elasticsearch create index %s: %d %s: %s", name, res.StatusCode, typ, reason)
	}
	return fmt.Sprintf("elasticsearch refused to create index %s: %d %s: %s", name, res.StatusCode, typ, reason), nil
}

// errorOf reads type and reason from an Elasticsearch error document.
func errorOf(body []byte) (typ, reason string) {
	typ, _ = jsonparser.GetString(body, "error", "type")
	reason, _ = jsonparser.GetString(body, "error", "reason")
	if typ == "" {
		typ = "error"
		reason = strings.TrimSpace(string(body))
	}
	return typ, reason
}

// retryableStatus is a status worth retrying: overload or a passing
// server-side failure.
func retryableStatus(code int) bool {
	return code == 408 || code == 429 || code >= 500
}
