package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// envName is the environment variable that stands in for a flag:
// --max-body is SLUICE_MAX_BODY.
func envName(flagName string) string {
	if n, ok := envNames[flagName]; ok {
		return n
	}
	return "SLUICE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envNames are the variables named otherwise: a repeatable flag's variable
// holds a list.
var envNames = map[string]string{"kafka-stream": "SLUICE_KAFKA_STREAMS"}

// applyEnv sets every flag not given on the command line from its
// environment variable, so a flag wins over the environment.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)
			}
		}
	})
	return err
}

// printFlags lists every flag with its environment variable and default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if kind != "" {
			name += " " + kind
		}
		def := f.DefValue
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(w, "  %s\n        %s\n        env %s, default %s\n", name, usage, envName(f.Name), def)
	})
}

// byteSize is a flag holding a size: 1048576, 512KiB, 16MiB, 1GiB (or KB,
// MB, GB in powers of 1000).
type byteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a positive size such as 1048576, 512KiB or 16MiB")
	}
	*b = byteSize(n * mult)
	return nil
}

func (b byteSize) String() string {
	for i := 2; i >= 0; i-- { // the largest binary unit that divides it
		if u, n := sizeUnits[i], int64(b); n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}
