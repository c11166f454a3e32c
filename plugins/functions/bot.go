package functions

import (
	_ "embed"
	"strings"
	"unsafe"

	"sluice/operators"
)

//go:embed botagents.txt
var botAgentsFile string

// botAgents are the lower-case patterns of botagents.txt.
var botAgents = parseBotAgents(botAgentsFile)

func init() {
	operators.RegisterScalar(operators.ScalarFunc{
		Name: "is_bot", MinArgs: 1, MaxArgs: 1,
		Doc: "is_bot(ua): whether the user agent is a crawler, tool, headless browser or monitor " +
			"(mileusna/useragent's bot flag plus sluice's signature list); a missing or empty ua is a bot",
		Eval: func(args []operators.Value) operators.Value {
			if args[0].IsNull() {
				return operators.Bool(true)
			}
			return operators.Bool(lookupDevice(args[0].Text()).bot)
		},
	})
}

func parseBotAgents(file string) []string {
	var patterns []string
	for line := range strings.Lines(file) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		patterns = append(patterns, strings.ToLower(line))
	}
	return patterns
}

// matchesBotAgent reports whether ua is empty or contains a signature,
// ignoring case. It lowers ua once (on the stack for ordinary lengths)
// and runs strings.Contains per pattern: with a few dozen short patterns
// that beats building an automaton, and is_bot results are cached anyway.
func matchesBotAgent(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	var buf [512]byte
	var lower string
	if len(ua) <= len(buf) {
		b := buf[:len(ua)]
		for i := 0; i < len(ua); i++ {
			c := ua[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		lower = unsafe.String(&b[0], len(b))
	} else {
		lower = strings.ToLower(ua)
	}
	for _, p := range botAgents {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}
