// Package plugins links every sluice component into the binary: importing
// it runs each component's init(), which registers it with the operators
// registry (functions, aggregates, sinks, annotations).
package plugins

import (
	_ "sluice/plugins/functions"
	_ "sluice/plugins/functions/redislookup"
	_ "sluice/plugins/sinks/elasticsearch"
	_ "sluice/plugins/sinks/kafka"
	_ "sluice/plugins/sinks/redis"
	_ "sluice/plugins/sinks/sse"
	_ "sluice/plugins/sinks/stdout"
)
