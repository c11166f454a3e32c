package estest

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runAggs computes an "aggs" object over hits: terms and date_histogram
// buckets (with sub-aggregations) and sum/min/max/avg/value_count/cardinality.
func runAggs(defs any, hits []hit) (map[string]any, *esError) {
	obj, ok := defs.(map[string]any)
	if !ok {
		return nil, errorf(400, "parsing_exception", "Expected [START_OBJECT] under [aggs]")
	}
	out := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		d, ok := obj[name].(map[string]any)
		if !ok {
			return nil, errorf(400, "parsing_exception", "Expected [START_OBJECT] under [%s]", name)
		}
		var kind string
		var args map[string]any
		var sub any
		for _, k := range slices.Sorted(maps.Keys(d)) {
			switch k {
			case "aggs", "aggregations":
				sub = d[k]
			case "meta":
			default:
				if kind != "" {
					return nil, errorf(400, "parsing_exception", "Found two aggregation type definitions in [%s]: [%s] and [%s]", name, kind, k)
				}
				kind = k
				if args, ok = d[k].(map[string]any); !ok {
					return nil, errorf(400, "parsing_exception", "Expected [START_OBJECT] under [%s]", k)
				}
			}
		}
		if kind == "" {
			return nil, errorf(400, "parsing_exception", "Missing definition for aggregation [%s]", name)
		}
		var res map[string]any
		var e *esError
		switch kind {
		case "terms":
			res, e = termsAgg(args, sub, hits)
		case "date_histogram":
			res, e = dateHistogram(args, sub, hits)
		case "sum", "min", "max", "avg", "value_count", "cardinality":
			res, e = metricAgg(kind, args, hits)
		default:
			e = errorf(400, "x_content_parse_exception", "[1:1] Unknown aggregation type [%s] did you mean [terms]?", kind)
		}
		if e != nil {
			return nil, e
		}
		out[name] = res
	}
	return out, nil
}

func checkArgs(kind string, args map[string]any, allowed ...string) *esError {
	for k := range args {
		if !slices.Contains(allowed, k) {
			return errorf(400, "x_content_parse_exception", "[1:1] [%s] unknown field [%s]", kind, k)
		}
	}
	if _, ok := args["field"]; !ok {
		return errorf(400, "illegal_argument_exception", "Required one of fields [field, script], but none were specified.")
	}
	return nil
}

// bucket gathers the hits that share a key.
type bucket struct {
	key    any    // string, int64 or float64
	keyStr string // key_as_string, when the type has one
	hits   []hit
}

func (b *bucket) render(sub any) (map[string]any, *esError) {
	out := map[string]any{"key": b.key, "doc_count": len(b.hits)}
	if b.keyStr != "" {
		out["key_as_string"] = b.keyStr
	}
	if sub != nil {
		aggs, e := runAggs(sub, b.hits)
		if e != nil {
			return nil, e
		}
		maps.Copy(out, aggs)
	}
	return out, nil
}

func termsAgg(args map[string]any, sub any, hits []hit) (map[string]any, *esError) {
	if e := checkArgs("terms", args, "field", "size", "order", "min_doc_count", "shard_size", "missing", "show_term_doc_count_error"); e != nil {
		return nil, e
	}
	name := textOf(args["field"])
	size, minCount := 10, 1
	if v, ok := args["size"]; ok {
		size, _ = strconv.Atoi(textOf(v))
	}
	if v, ok := args["min_doc_count"]; ok {
		minCount, _ = strconv.Atoi(textOf(v))
	}
	groups := map[string]*bucket{}
	for _, h := range hits {
		f, path := h.fieldOf(name)
		if f == nil {
			continue
		}
		if f.Type == "text" {
			return nil, fielddataError(name, h.ix.name)
		}
		seen := map[string]bool{}
		for _, v := range h.values(path) {
			key, keyStr := termKey(f, v)
			id := textOf(key)
			if seen[id] {
				continue
			}
			seen[id] = true
			b, ok := groups[id]
			if !ok {
				b = &bucket{key: key, keyStr: keyStr}
				groups[id] = b
			}
			b.hits = append(b.hits, h)
		}
	}
	var buckets []*bucket
	for _, b := range groups {
		if len(b.hits) >= minCount {
			buckets = append(buckets, b)
		}
	}
	byKey := func(a, b *bucket) int { return compareKeys(a.key, b.key) }
	byCount := func(a, b *bucket) int {
		if c := cmp.Compare(len(b.hits), len(a.hits)); c != 0 {
			return c
		}
		return byKey(a, b)
	}
	order := byCount
	if o, ok := args["order"].(map[string]any); ok {
		for k, dir := range o {
			var base func(a, b *bucket) int
			switch k {
			case "_key":
				base = byKey
			case "_count":
				base = func(a, b *bucket) int { return cmp.Compare(len(a.hits), len(b.hits)) }
			default:
				return nil, errorf(400, "illegal_argument_exception", "the stand-in orders terms by _key or _count only, not [%s]", k)
			}
			switch textOf(dir) {
			case "asc":
				order = base
			case "desc":
				order = func(a, b *bucket) int { return base(b, a) }
			default:
				return nil, errorf(400, "illegal_argument_exception", "Unknown terms order direction [%s]", textOf(dir))
			}
		}
	}
	slices.SortFunc(buckets, order)
	other := 0
	for _, b := range buckets[min(size, len(buckets)):] {
		other += len(b.hits)
	}
	buckets = buckets[:min(size, len(buckets))]
	rendered := []any{}
	for _, b := range buckets {
		r, e := b.render(sub)
		if e != nil {
			return nil, e
		}
		rendered = append(rendered, r)
	}
	return map[string]any{"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": rendered}, nil
}

// termKey is a terms bucket key as Elasticsearch types it.
func termKey(f *field, v any) (key any, keyStr string) {
	switch f.Type {
	case "long", "integer", "short", "byte":
		n, _ := numberOf(v)
		return int64(n), ""
	case "double", "float", "half_float", "scaled_float":
		n, _ := numberOf(v)
		return jsonNumber(n), ""
	case "date":
		ms, _ := dateOf(v, f.Format)
		return ms, formatDate(ms, f.Format)
	case "boolean":
		if textOf(v) == "true" {
			return int64(1), "true"
		}
		return int64(0), "false"
	}
	return textOf(v), ""
}

func compareKeys(a, b any) int {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case json.Number:
		if y, ok := b.(json.Number); ok {
			fx, _ := x.Float64()
			fy, _ := y.Float64()
			return cmp.Compare(fx, fy)
		}
	}
	return strings.Compare(textOf(a), textOf(b))
}

var calendarIntervals = map[string]time.Duration{
	"1m": time.Minute, "minute": time.Minute, "1h": time.Hour, "hour": time.Hour, "1d": 24 * time.Hour, "day": 24 * time.Hour,
}

func dateHistogram(args map[string]any, sub any, hits []hit) (map[string]any, *esError) {
	if e := checkArgs("date_histogram", args, "field", "calendar_interval", "fixed_interval", "format", "min_doc_count", "time_zone", "keyed", "order"); e != nil {
		return nil, e
	}
	var interval time.Duration
	cal, hasCal := args["calendar_interval"]
	fixed, hasFixed := args["fixed_interval"]
	switch {
	case hasCal && hasFixed:
		return nil, errorf(400, "illegal_argument_exception", "Cannot use [fixed_interval] with [calendar_interval] configuration option.")
	case hasCal:
		d, ok := calendarIntervals[textOf(cal)]
		if !ok {
			return nil, errorf(400, "illegal_argument_exception", "The supplied interval [%s] could not be parsed as a calendar interval (the stand-in knows minute, hour and day).", textOf(cal))
		}
		interval = d
	case hasFixed:
		d, err := parseFixedInterval(textOf(fixed))
		if err != nil {
			return nil, errorf(400, "illegal_argument_exception", "failed to parse setting [date_histogram.fixedInterval] with value [%s] as a time value: unit is missing or unrecognized", textOf(fixed))
		}
		interval = d
	default:
		return nil, errorf(400, "illegal_argument_exception", "Invalid interval specified, must be non-null and non-empty")
	}
	if tz, ok := args["time_zone"]; ok && textOf(tz) != "UTC" && textOf(tz) != "Z" && textOf(tz) != "+00:00" {
		return nil, errorf(400, "illegal_argument_exception", "the stand-in buckets in UTC only, not [%s]", textOf(tz))
	}
	minCount := 0
	if v, ok := args["min_doc_count"]; ok {
		minCount, _ = strconv.Atoi(textOf(v))
	}
	name := textOf(args["field"])
	step := interval.Milliseconds()
	groups := map[int64]*bucket{}
	format := textOf(args["format"])
	for _, h := range hits {
		f, path := h.fieldOf(name)
		if f == nil {
			continue
		}
		switch f.Type {
		case "date", "long", "integer", "double", "float":
		default:
			return nil, errorf(400, "illegal_argument_exception", "Field [%s] of type [%s] is not supported for aggregation [date_histogram]", name, f.Type)
		}
		if format == "" && f.Type == "date" {
			format = f.Format
		}
		seen := map[int64]bool{}
		for _, v := range h.values(path) {
			ms, ok := dateOf(v, "epoch_millis||"+f.Format)
			if !ok {
				continue
			}
			key := int64(math.Floor(float64(ms)/float64(step))) * step
			if seen[key] {
				continue
			}
			seen[key] = true
			b, ok := groups[key]
			if !ok {
				b = &bucket{key: key}
				groups[key] = b
			}
			b.hits = append(b.hits, h)
		}
	}
	keys := slices.Sorted(maps.Keys(groups))
	if minCount == 0 && len(keys) > 1 {
		for k := keys[0]; k <= keys[len(keys)-1]; k += step {
			if _, ok := groups[k]; !ok {
				groups[k] = &bucket{key: k}
			}
		}
		keys = slices.Sorted(maps.Keys(groups))
	}
	rendered := []any{}
	for _, k := range keys {
		b := groups[k]
		if len(b.hits) < minCount {
			continue
		}
		b.keyStr = formatDate(k, format)
		r, e := b.render(sub)
		if e != nil {
			return nil, e
		}
		rendered = append(rendered, r)
	}
	return map[string]any{"buckets": rendered}, nil
}

func parseFixedInterval(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		return time.Duration(n) * 24 * time.Hour, err
	}
	d, err := time.ParseDuration(s)
	if err == nil && d <= 0 {
		err = strconv.ErrRange
	}
	return d, err
}

// formatDate renders key_as_string under a date format: the first of
// "a||b" alternatives; epoch_millis, ISO 8601, or a yyyy-MM-dd HH:mm:ss pattern.
func formatDate(ms int64, format string) string {
	first, _, _ := strings.Cut(format, "||")
	t := time.UnixMilli(ms).UTC()
	switch first {
	case "epoch_millis":
		return strconv.FormatInt(ms, 10)
	case "epoch_second":
		return strconv.FormatInt(ms/1000, 10)
	case "", "strict_date_optional_time", "date_optional_time", "strict_date_time", "date_time":
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	r := strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05")
	return t.Format(r.Replace(first))
}

func metricAgg(kind string, args map[string]any, hits []hit) (map[string]any, *esError) {
	if e := checkArgs(kind, args, "field", "missing", "precision_threshold"); e != nil {
		return nil, e
	}
	name := textOf(args["field"])
	var nums []float64
	distinct := map[string]bool{}
	count := 0
	var date *field
	for _, h := range hits {
		f, path := h.fieldOf(name)
		if f == nil {
			continue
		}
		if f.Type == "text" {
			return nil, fielddataError(name, h.ix.name)
		}
		numeric := f.Type != "keyword" && f.Type != "boolean" && f.Type != "ip"
		if !numeric && kind != "value_count" && kind != "cardinality" {
			return nil, errorf(400, "illegal_argument_exception", "Field [%s] of type [%s] is not supported for aggregation [%s]", name, f.Type, kind)
		}
		if f.Type == "date" {
			date = f
		}
		for _, v := range h.values(path) {
			count++
			distinct[textOf(v)] = true
			if !numeric {
				continue
			}
			if f.Type == "date" {
				ms, _ := dateOf(v, f.Format)
				nums = append(nums, float64(ms))
			} else if n, ok := numberOf(v); ok {
				nums = append(nums, n)
			}
		}
	}
	switch kind {
	case "value_count":
		return map[string]any{"value": count}, nil
	case "cardinality":
		return map[string]any{"value": len(distinct)}, nil
	case "sum":
		total := 0.0
		for _, n := range nums {
			total += n
		}
		return map[string]any{"value": jsonNumber(total)}, nil
	}
	if len(nums) == 0 {
		return map[string]any{"value": nil}, nil
	}
	var v float64
	switch kind {
	case "min":
		v = slices.Min(nums)
	case "max":
		v = slices.Max(nums)
	case "avg":
		for _, n := range nums {
			v += n
		}
		v /= float64(len(nums))
	}
	out := map[string]any{"value": jsonNumber(v)}
	if date != nil && kind != "avg" {
		out["value_as_string"] = formatDate(int64(v), date.Format)
	}
	return out, nil
}
