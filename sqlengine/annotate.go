package sqlengine

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"sluice/operators"
)

// The annotations the engine itself understands. Plugins may register more.
func init() {
	for _, a := range []operators.AnnotationSpec{
		{Name: "Name", Positional: true, Doc: "the statement's name, used in the API and in output keys"},
		{Name: "Description", Positional: true, Doc: "free text shown in the API and console"},
		{Name: "EventTime", Doc: "event time column and allowed lateness", Args: []operators.ArgSpec{
			{Name: "column", Required: true, Doc: "field holding epoch milliseconds or an RFC 3339 string"},
			{Name: "lateness", Doc: "how far behind the largest event time the watermark stays (default 0s)"},
			{Name: "idle", Doc: "after this long without input, event time follows the wall clock (default 1s)"},
			{Name: "late", Doc: "drop (default) or update: a late event updates its emitted window, re-emitted with the same _key"},
			{Name: "keep", Doc: "with late=\"update\": how long after its end a window takes updates (default 10 windows)"},
		}},
		{Name: "Sink", Repeatable: true, Doc: "where output rows go: @Sink(type=\"…\", …)", Args: []operators.ArgSpec{
			{Name: "type", Required: true, Doc: "a registered sink type"},
		}},
		{Name: "PublishOn", Doc: "publish output rows to a Kafka topic", Args: []operators.ArgSpec{
			{Name: "topic", Required: true}, {Name: "key", Doc: "column whose value is the message key"},
		}},
		{Name: "Widget", Doc: "a dashboard widget for this statement's results", Args: []operators.ArgSpec{
			{Name: "type", Required: true, Doc: "timeseries, counter, topn, bar or table"},
		}},
		{Name: "Session", Doc: "tag pass-through events with session_id() and session_seq()", Args: []operators.ArgSpec{
			{Name: "key", Required: true, Doc: "comma-separated fields that identify a visitor, e.g. user_id"},
			{Name: "gap", Doc: "inactivity that ends a session (default 30m)"},
			{Name: "max_duration", Doc: "longest session before a new one starts (default unlimited)"},
		}},
		{Name: "ClusterAffinity", Doc: "key that keeps a stream's keyed state on one node when scaled out", Args: []operators.ArgSpec{
			{Name: "key", Required: true},
		}},
	} {
		operators.RegisterAnnotation(a)
	}
}

// options are what a statement's annotations say.
type options struct {
	name        string
	description string
	eventTime   []string // field path, nil for arrival time
	lateness    time.Duration
	idle        time.Duration
	lateUpdate  bool
	keep        time.Duration // 0: the planner's default
	sinks       []operators.SinkDecl
	sinkPos     []Position // where each sink was declared
	widget      map[string]string
	raw         map[string][]string
	session     *sessionOption
	affinity    string // @ClusterAffinity's key: state kept per Kafka partition
}

// sessionOption is @Session(key, gap, max_duration).
type sessionOption struct {
	keys        [][]string
	gap, maxDur time.Duration
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

var widgetTypes = map[string]bool{"timeseries": true, "counter": true, "topn": true, "bar": true, "table": true}

// readOptions validates a statement's annotations against the registry.
func readOptions(anns []*Annotation) (*options, *CompileError) {
	o := &options{idle: time.Second, raw: map[string][]string{}}
	seen := map[string]bool{}
	for _, a := range anns {
		fail := func(format string, args ...any) (*options, *CompileError) {
			return nil, &CompileError{Position: a.Pos, Token: "@" + a.Name, Msg: fmt.Sprintf(format, args...)}
		}
		spec, ok := operators.LookupAnnotation(a.Name)
		if !ok {
			return fail("unknown annotation @%s%s", a.Name, suggest(a.Name, operators.AnnotationNames()))
		}
		key := strings.ToLower(spec.Name)
		if seen[key] && !spec.Repeatable {
			return fail("@%s may appear only once per statement", spec.Name)
		}
		seen[key] = true
		if spec.Positional && (a.Positional == "" || len(a.Args) > 0) {
			return fail("@%s takes one quoted argument: @%s(\"…\")", spec.Name, spec.Name)
		}
		if !spec.Positional && a.Positional != "" {
			return fail("@%s takes named arguments: @%s(name=\"value\", …)", spec.Name, spec.Name)
		}
		for _, arg := range spec.Args {
			if arg.Required && a.Args[arg.Name] == "" {
				return fail("@%s needs %s=\"…\"", spec.Name, arg.Name)
			}
		}
		// A misspelt argument must not silently fall back to its default.
		// @Sink's arguments are checked against its sink type, and @Widget
		// passes display options through to the console.
		if spec.Name != "Sink" && spec.Name != "Widget" {
			if name, hint := unknownArg(a.Args, spec.Args); name != "" {
				return fail("@%s has no argument %q%s", spec.Name, name, hint)
			}
		}
		o.raw[spec.Name] = append(o.raw[spec.Name], a.Positional)
		switch spec.Name {
		case "Name":
			if !namePattern.MatchString(a.Positional) {
				return fail("@Name %q: use 1 to 128 letters, digits, _ . or -", a.Positional)
			}
			o.name = a.Positional
		case "Description":
			o.description = a.Positional
		case "EventTime":
			o.eventTime = strings.Split(a.Args["column"], ".")
			if err := setDurations(a.Args, 0, "5s or 500ms", []durationArg{{"lateness", &o.lateness}, {"idle", &o.idle}, {"keep", &o.keep}}); err != "" {
				return fail("@EventTime %s", err)
			}
			switch a.Args["late"] {
			case "", "drop":
			case "update":
				o.lateUpdate = true
			default:
				return fail("@EventTime late=%q: use drop or update", a.Args["late"])
			}
		case "Sink", "PublishOn":
			args, prefix := a.Args, ""
			if spec.Name == "PublishOn" {
				// Shorthand for a Kafka sink.
				args, prefix = map[string]string{"type": "kafka", "topic": a.Args["topic"], "key": a.Args["key"]}, "@PublishOn: "
			}
			d, err := sinkDecl(args)
			if err != "" {
				return fail("%s%s", prefix, err)
			}
			o.sinks = append(o.sinks, d)
			o.sinkPos = append(o.sinkPos, a.Pos)
		case "Session":
			so := &sessionOption{gap: 30 * time.Minute}
			for _, k := range strings.Split(a.Args["key"], ",") {
				so.keys = append(so.keys, strings.Split(strings.TrimSpace(k), "."))
			}
			// Event time counts milliseconds: a shorter gap would round to 0.
			if err := setDurations(a.Args, time.Millisecond, "30m", []durationArg{{"gap", &so.gap}, {"max_duration", &so.maxDur}}); err != "" {
				return fail("@Session %s", err)
			}
			o.session = so
		case "ClusterAffinity":
			if o.affinity = strings.TrimSpace(a.Args["key"]); o.affinity == "" {
				return fail("@ClusterAffinity needs key=\"…\", the input column the topic's messages are keyed by")
			}
		case "Widget":
			if !widgetTypes[a.Args["type"]] {
				return fail("@Widget type %q: use timeseries, counter, topn, bar or table", a.Args["type"])
			}
			o.widget = a.Args
		}
	}
	return o, nil
}

// unknownArg is the first argument, in name order, that specs do not
// list, with a did-you-mean hint; "" when all are known.
func unknownArg(args map[string]string, specs []operators.ArgSpec) (name, hint string) {
	var known []string
	for _, a := range specs {
		known = append(known, a.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if !slices.Contains(known, k) {
			return k, suggest(k, known)
		}
	}
	return "", ""
}

// durationArg is an annotation argument that holds a duration, and where
// the duration goes.
type durationArg struct {
	name string
	dst  *time.Duration
}

// setDurations sets each given argument of ds, in order. It stops at the
// first that does not parse or is shorter than shortest, with a message
// that names it and shows a duration like the one wanted.
func setDurations(args map[string]string, shortest time.Duration, like string, ds []durationArg) string {
	for _, d := range ds {
		v := args[d.name]
		if v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil || dur < shortest {
			return fmt.Sprintf("%s=%q is not a duration like %s", d.name, v, like)
		}
		*d.dst = dur
	}
	return ""
}

// sinkDecl checks a sink's type and arguments against its plugin's spec.
func sinkDecl(args map[string]string) (operators.SinkDecl, string) {
	typ := strings.ToLower(args["type"])
	p, ok := operators.LookupSink(typ)
	if !ok {
		return operators.SinkDecl{}, fmt.Sprintf("unknown sink type %q%s (known: %s)", typ, suggest(typ, operators.SinkNames()), strings.Join(operators.SinkNames(), ", "))
	}
	d := operators.SinkDecl{Type: typ, Args: map[string]string{}}
	for k, v := range args {
		if k != "type" && v != "" {
			d.Args[k] = v
		}
	}
	if p.Args != nil {
		known := map[string]bool{}
		var names []string
		for _, a := range p.Args {
			known[a.Name] = true
			names = append(names, a.Name)
			if a.Required && d.Args[a.Name] == "" {
				return d, fmt.Sprintf("sink %s needs %s=\"…\"", typ, a.Name)
			}
		}
		for k := range d.Args {
			if !known[k] {
				return d, fmt.Sprintf("sink %s has no argument %q%s", typ, k, suggest(k, names))
			}
		}
	}
	return d, ""
}

// checkSinks builds each sink once without a connection, so that arguments
// the sink refuses (a column the statement does not output, a bad duration)
// are compile errors, not a degraded statement. A sink that only misses its
// server address is fine here.
func checkSinks(o *options, spec *operators.QuerySpec) *CompileError {
	for i, d := range o.sinks {
		p, _ := operators.LookupSink(d.Type)
		s, err := p.New(operators.SinkConfig{Query: spec.Name, Args: d.Args, Env: &operators.Env{}, Columns: spec.Columns})
		switch {
		case err == nil:
			_ = s.Close()
		case !errors.Is(err, operators.ErrNotConfigured):
			return &CompileError{Position: o.sinkPos[i], Token: "@Sink", Msg: fmt.Sprintf("sink %s: %v", d.Type, err)}
		}
	}
	return nil
}
