package sqlengine_test

import (
	"io"
	"log/slog"
	"testing"

	"sluice/operators"
	_ "sluice/plugins"
	"sluice/sqlengine"
)

// FuzzDeploy compiles and deploys arbitrary statements, sinks and
// annotations included, into a runtime without external servers, as
// POST /v1/queries does: a statement may be refused at compile or deploy
// time, but nothing may panic, and what deploys must be removed cleanly.
func FuzzDeploy(f *testing.F) {
	for _, sql := range []string{
		`@Name("a") @Sink(type="redis", mode="hash", key="k:{a}", field="b", value="n") SELECT a, b, COUNT(*) AS n FROM s GROUP BY a, b`,
		`@Name("b") @Sink(type="elasticsearch", index="m-{yyyy.MM.dd}", id="{a}") SELECT a FROM s`,
		`@Name("c") @PublishOn(topic="t", key="a") INSERT INTO t SELECT * FROM s WHERE a = 'x'`,
		`@Name("d") @Sink(type="bot_signatures", ttl="1h") @EventTime(column="ts", lateness="5s") SELECT ip FROM s GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), ip HAVING COUNT(*) > 2`,
		`@Name("e") @Widget(type="timeseries", title="x", value="n", series="a") SELECT a, COUNT(*) AS n FROM s GROUP BY TUMBLE(ts, INTERVAL 1 SECOND), a`,
		`@Name("f") @Sink(type="stdout") @Sink(type="redis", mode="cooccur", key="sess:{a}", id="{b}", member="a", score="n") SELECT a, b, 1 AS n FROM s`,
	} {
		f.Add(sql)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, sql string) {
		specs, err := sqlengine.Compile(sql)
		if err != nil {
			return
		}
		rt := operators.NewRuntime(operators.RuntimeConfig{Env: &operators.Env{Logger: log}})
		defer rt.Close()
		var deployed []string
		for _, spec := range specs {
			if _, err := rt.Deploy(spec); err == nil {
				deployed = append(deployed, spec.Name)
			}
		}
		for _, name := range deployed {
			if err := rt.Delete(name); err != nil {
				t.Fatalf("delete %s: %v", name, err)
			}
		}
	})
}
