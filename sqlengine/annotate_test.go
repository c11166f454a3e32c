package sqlengine

import (
	"reflect"
	"testing"
	"time"

	"sluice/operators"
	_ "sluice/plugins/sinks/kafka"
	_ "sluice/plugins/sinks/stdout"
)

func TestReadOptionsDurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		ann  Annotation
		want options // lateness, idle, keep and session's gap and maxDur
		err  string
	}{
		{"event time defaults", Annotation{Name: "EventTime", Args: map[string]string{"column": "ts"}},
			options{idle: time.Second}, ""},
		{"event time durations", Annotation{Name: "EventTime", Args: map[string]string{"column": "ts", "lateness": "5s", "idle": "250ms", "keep": "1h"}},
			options{lateness: 5 * time.Second, idle: 250 * time.Millisecond, keep: time.Hour}, ""},
		{"zero lateness", Annotation{Name: "EventTime", Args: map[string]string{"column": "ts", "lateness": "0s"}},
			options{idle: time.Second}, ""},
		{"negative lateness", Annotation{Name: "EventTime", Args: map[string]string{"column": "ts", "lateness": "-1s"}},
			options{}, `@EventTime lateness="-1s" is not a duration like 5s or 500ms`},
		{"first bad one named", Annotation{Name: "EventTime", Args: map[string]string{"column": "ts", "idle": "soon", "keep": "later"}},
			options{}, `@EventTime idle="soon" is not a duration like 5s or 500ms`},
		{"session defaults", Annotation{Name: "Session", Args: map[string]string{"key": "user_id"}},
			options{idle: time.Second, session: &sessionOption{keys: [][]string{{"user_id"}}, gap: 30 * time.Minute}}, ""},
		{"session durations", Annotation{Name: "Session", Args: map[string]string{"key": "user_id, device.id", "gap": "5m", "max_duration": "2h"}},
			options{idle: time.Second, session: &sessionOption{keys: [][]string{{"user_id"}, {"device", "id"}}, gap: 5 * time.Minute, maxDur: 2 * time.Hour}}, ""},
		{"zero gap", Annotation{Name: "Session", Args: map[string]string{"key": "user_id", "gap": "0s"}},
			options{}, `@Session gap="0s" is not a duration like 30m`},
		// Event time is in milliseconds: a shorter gap would round to 0.
		{"sub-millisecond gap", Annotation{Name: "Session", Args: map[string]string{"key": "user_id", "gap": "500us"}},
			options{}, `@Session gap="500us" is not a duration like 30m`},
		{"overflowing max duration", Annotation{Name: "Session", Args: map[string]string{"key": "user_id", "max_duration": "9999999999h"}},
			options{}, `@Session max_duration="9999999999h" is not a duration like 30m`},
		{"bad max duration", Annotation{Name: "Session", Args: map[string]string{"key": "user_id", "max_duration": "1 day"}},
			options{}, `@Session max_duration="1 day" is not a duration like 30m`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := readOptions([]*Annotation{&tc.ann})
			if tc.err != "" {
				if err == nil || err.Msg != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := options{lateness: o.lateness, idle: o.idle, keep: o.keep, session: o.session}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v %+v, want %+v %+v", got, got.session, tc.want, tc.want.session)
			}
		})
	}
}

func TestReadOptionsSinks(t *testing.T) {
	o, err := readOptions([]*Annotation{
		{Name: "Sink", Args: map[string]string{"type": "stdout"}, Pos: Position{Line: 1, Column: 1}},
		{Name: "PublishOn", Args: map[string]string{"topic": "out", "key": "user_id"}, Pos: Position{Line: 2, Column: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []operators.SinkDecl{
		{Type: "stdout", Args: map[string]string{}},
		{Type: "kafka", Args: map[string]string{"topic": "out", "key": "user_id"}},
	}
	if !reflect.DeepEqual(o.sinks, want) || !reflect.DeepEqual(o.sinkPos, []Position{{1, 1}, {2, 1}}) {
		t.Errorf("sinks %+v at %v", o.sinks, o.sinkPos)
	}
	for _, tc := range []struct {
		ann Annotation
		err string
	}{
		{Annotation{Name: "Sink", Args: map[string]string{"type": "stdout", "colour": "red"}}, `sink stdout has no argument "colour"`},
		{Annotation{Name: "Sink", Args: map[string]string{"type": "kafka"}}, `sink kafka needs topic="…"`},
	} {
		if _, err := readOptions([]*Annotation{&tc.ann}); err == nil || err.Msg != tc.err {
			t.Errorf("%+v: error %v, want %q", tc.ann, err, tc.err)
		}
	}
}
