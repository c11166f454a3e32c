package operators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// The registry is the one place components announce themselves: scalar and
// aggregate functions, sinks and annotations. Plugins register in init(), the
// SQL compiler looks names up here, and error messages suggest close names.
var registry = struct {
	sync.RWMutex
	scalars     map[string]ScalarFunc
	aggregates  map[string]AggregateFunc
	sinks       map[string]SinkPlugin
	annotations map[string]AnnotationSpec
	setups      []func(*Env) error
}{
	scalars:     map[string]ScalarFunc{},
	aggregates:  map[string]AggregateFunc{},
	sinks:       map[string]SinkPlugin{},
	annotations: map[string]AnnotationSpec{},
}

// ScalarFunc is a row-at-a-time function callable from SQL.
type ScalarFunc struct {
	Name    string // SQL name, matched case-insensitively
	MinArgs int
	MaxArgs int // -1 for variadic
	Doc     string
	// Volatile functions may answer differently for the same arguments
	// (the clock, state in Redis or a cache): a call with constant
	// arguments is evaluated per row, not once at compile time.
	Volatile bool
	// Eval computes the result. args is only valid during the call.
	Eval func(args []Value) Value
}

// Aggregator accumulates one aggregate for one group in one window.
type Aggregator interface {
	Add(v Value)
	Result() Value
	// Reset empties the aggregator for a group of a later window, which
	// then reuses its memory; parameters and Share links stay.
	Reset()
	// MarshalBinary and UnmarshalBinary carry the state through checkpoints
	// and hot replacement.
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// AggregateFunc describes an aggregate. Its first argument is the per-event
// value; Params more arguments must be constants (PERCENTILE(x, 95), TOPK(x, 10)).
type AggregateFunc struct {
	Name   string
	Params int
	Doc    string
	// Star is true if the function accepts * (COUNT(*)).
	Star bool
	// New validates the constant params and returns a factory of empty aggregators.
	New func(params []Value) (AggregatorFactory, error)
	// Shares names a family of aggregates whose calls over the same argument
	// keep one state between them (PERCENTILE(x, 50), PERCENTILE(x, 95) and
	// MEDIAN(x) keep x's values once). Its aggregators implement Sharer.
	Shares string
}

// Sharer is an aggregator that can answer from the state of another of its
// family, over the same values in the same group, instead of its own.
type Sharer interface {
	// Share makes the aggregator read src's state; it adds nothing itself
	// from then on.
	Share(src Aggregator)
}

// newAggregators makes one empty aggregator per spec, sharers linked.
func newAggregators(specs []AggSpec) []Aggregator {
	aggs := make([]Aggregator, len(specs))
	for i, s := range specs {
		aggs[i] = NewAggregator(s.New)
	}
	share(specs, aggs)
	return aggs
}

// share links each aggregator whose spec names an earlier one to it.
func share(specs []AggSpec, aggs []Aggregator) {
	for i, s := range specs {
		if s.SharedWith > 0 {
			aggs[i].(Sharer).Share(aggs[s.SharedWith-1])
		}
	}
}

// AggregatorFactory fills dst with new, empty aggregators. A window creates
// the aggregators of many groups with one call, so a factory should
// allocate them together (see Fill).
type AggregatorFactory func(dst []Aggregator)

// Fill sets each element of dst to a pointer into one new array of
// len(dst) copies of init: one allocation for many aggregators.
func Fill[T any, P interface {
	*T
	Aggregator
}](dst []Aggregator, init T) {
	arr := make([]T, len(dst))
	for i := range arr {
		arr[i] = init
		dst[i] = P(&arr[i])
	}
}

// NewAggregator is one aggregator from f.
func NewAggregator(f AggregatorFactory) Aggregator {
	var one [1]Aggregator
	f(one[:])
	return one[0]
}

// RegisterScalar adds a scalar function; a duplicate name panics at init.
func RegisterScalar(f ScalarFunc) {
	key := strings.ToLower(f.Name)
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.scalars[key]; dup {
		panic("operators: scalar function registered twice: " + f.Name)
	}
	registry.scalars[key] = f
}

// LookupScalar finds a scalar function by name, ignoring case.
func LookupScalar(name string) (ScalarFunc, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.scalars[strings.ToLower(name)]
	return f, ok
}

// RegisterAggregate adds an aggregate function; a duplicate name panics at init.
func RegisterAggregate(f AggregateFunc) {
	key := strings.ToLower(f.Name)
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.aggregates[key]; dup {
		panic("operators: aggregate registered twice: " + f.Name)
	}
	registry.aggregates[key] = f
}

// LookupAggregate finds an aggregate by name, ignoring case.
func LookupAggregate(name string) (AggregateFunc, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.aggregates[strings.ToLower(name)]
	return f, ok
}

// FunctionNames lists every scalar and aggregate name, for suggestions.
func FunctionNames() []string {
	registry.RLock()
	defer registry.RUnlock()
	var names []string
	for _, f := range registry.scalars {
		names = append(names, strings.ToUpper(f.Name))
	}
	for _, f := range registry.aggregates {
		names = append(names, strings.ToUpper(f.Name))
	}
	sort.Strings(names)
	return names
}

// Sink receives a statement's output rows. Write may block while the sink's
// bounded buffer is full: that is how back-pressure reaches ingest. It must
// not keep rows past the call unless it copies them (records are immutable,
// so keeping the pointers is fine).
type Sink interface {
	// Write returns a *PartialWriteError when it took some rows but not all,
	// so that only the rest count as failed.
	Write(ctx context.Context, rows []*Record) error
	// Flush blocks until every row written so far is acknowledged by the
	// external system (used by checkpoints and shutdown).
	Flush(ctx context.Context) error
	Close() error
}

// PartialWriteError is a Sink.Write error after the first Accepted rows
// were taken: those will still be delivered, the rest were not taken.
type PartialWriteError struct {
	Accepted int
	Err      error
}

func (e *PartialWriteError) Error() string { return e.Err.Error() }
func (e *PartialWriteError) Unwrap() error { return e.Err }

// ErrNotConfigured is returned by a sink constructor whose external system
// has no address configured. The statement still runs; its status names the
// missing setting.
var ErrNotConfigured = errors.New("not configured")

// SinkConfig is what a sink constructor gets.
type SinkConfig struct {
	Query string            // the statement's name
	Args  map[string]string // the @Sink annotation's arguments, without "type"
	Env   *Env
	// Columns are the names the statement's output rows carry, so a sink can
	// refuse an argument naming a column that will never exist. Nil, or
	// containing "*", when rows carry raw events whose fields are unknown.
	Columns []string
}

// CountingSink is a sink that keeps delivery counters (rows buffered,
// retries, rows sent to the dead-letter stream); the statement's status
// shows them.
type CountingSink interface {
	Counters() map[string]uint64
}

// ArgSpec documents one annotation or sink argument.
type ArgSpec struct {
	Name     string
	Required bool
	Doc      string
}

// SinkPlugin is a registered sink type.
type SinkPlugin struct {
	Name string
	Doc  string
	Args []ArgSpec
	New  func(cfg SinkConfig) (Sink, error)
}

// RegisterSink adds a sink type, used as @Sink(type="name", ...); the name
// is matched case-insensitively.
func RegisterSink(p SinkPlugin) {
	key := strings.ToLower(p.Name)
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.sinks[key]; dup {
		panic("operators: sink registered twice: " + p.Name)
	}
	registry.sinks[key] = p
}

// LookupSink finds a sink type by name.
func LookupSink(name string) (SinkPlugin, bool) {
	registry.RLock()
	defer registry.RUnlock()
	p, ok := registry.sinks[strings.ToLower(name)]
	return p, ok
}

// SinkNames lists registered sink types.
func SinkNames() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.sinks))
	for n := range registry.sinks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AnnotationSpec describes an annotation the compiler accepts.
type AnnotationSpec struct {
	Name       string // as written after @, matched case-insensitively
	Repeatable bool
	Positional bool // takes one unnamed argument: @Name("x")
	Args       []ArgSpec
	Doc        string
}

// RegisterAnnotation adds an annotation name; a duplicate name panics at init.
func RegisterAnnotation(a AnnotationSpec) {
	key := strings.ToLower(a.Name)
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.annotations[key]; dup {
		panic("operators: annotation registered twice: " + a.Name)
	}
	registry.annotations[key] = a
}

// LookupAnnotation finds an annotation by name, ignoring case.
func LookupAnnotation(name string) (AnnotationSpec, bool) {
	registry.RLock()
	defer registry.RUnlock()
	a, ok := registry.annotations[strings.ToLower(name)]
	return a, ok
}

// AnnotationNames lists registered annotations.
func AnnotationNames() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.annotations))
	for _, a := range registry.annotations {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return names
}

// Env is the server's configuration and services as plugins see them.
type Env struct {
	RedisURL     string
	ESURL        string
	ESUsername   string
	ESPassword   string
	ESAPIKey     string
	ESInsecure   bool // skip TLS verification
	KafkaBrokers []string
	GeoIPDB      string // MaxMind GeoIP2/GeoLite2 City database, optional
	Logger       *slog.Logger
	// Emit writes records into a stream (dead letters, chaining). Set by the runtime.
	Emit func(stream string, recs []*Record) error
}

// Log is the env's logger, or the default one.
func (e *Env) Log() *slog.Logger {
	if e == nil || e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// DeadLetterStream receives rows a sink rejected for good, with the reason.
const DeadLetterStream = "_dead_letter"

// DeadLetter sends rejected rows to the dead-letter stream with a reason.
func (e *Env) DeadLetter(query, sink, reason string, rows []*Record) {
	if e == nil || e.Emit == nil {
		return
	}
	names := []string{"query", "sink", "reason", "row"}
	schema := NewSchema(names...)
	out := make([]*Record, len(rows))
	for i, r := range rows {
		out[i] = &Record{Arrival: r.Arrival, Schema: schema, Values: []Value{
			Str(query), Str(sink), Str(reason), RawJSON(r.String()),
		}}
	}
	if err := e.Emit(DeadLetterStream, out); err != nil {
		e.Log().Error("dead letter stream refused rows", "query", query, "sink", sink, "rows", len(rows), "err", fmt.Sprint(err))
	}
}

// OnSetup registers a function run once the server's configuration is known
// (open a GeoIP database, connect a lookup client). Register in init().
func OnSetup(fn func(*Env) error) {
	registry.Lock()
	defer registry.Unlock()
	registry.setups = append(registry.setups, fn)
}

// Setup runs every OnSetup function with the server's environment.
func Setup(env *Env) error {
	registry.RLock()
	fns := append([]func(*Env) error(nil), registry.setups...)
	registry.RUnlock()
	var errs []error
	for _, fn := range fns {
		if err := fn(env); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
