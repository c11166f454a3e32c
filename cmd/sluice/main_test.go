package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestRunDispatch(t *testing.T) {
	cases := []struct {
		args       []string
		code       int
		stdout     string // must contain
		stderr     string // must contain
		noStdout   bool
		versionRun bool
	}{
		{args: nil, code: 2, stderr: "Usage: sluice <command> [flags]", noStdout: true},
		{args: []string{"help"}, code: 0, stdout: "  serve      run the server"},
		{args: []string{"--help"}, code: 0, stdout: "  version    print the version"},
		{args: []string{"sevre"}, code: 2, stderr: `sluice: unknown command "sevre"`, noStdout: true},
		{args: []string{"serve", "--no-such-flag"}, code: 2, stderr: "flag provided but not defined: -no-such-flag", noStdout: true},
		{args: []string{"serve", "extra"}, code: 2, stderr: `sluice serve takes no arguments, got ["extra"]`, noStdout: true},
		{args: []string{"serve", "--queue-size", "0"}, code: 1, stderr: "sluice serve: --queue-size 0: want 1 to 100000 batches"},
		{args: []string{"serve", "--queue-size", "1000000000"}, code: 1, stderr: "sluice serve: --queue-size 1000000000: want 1 to 100000 batches"},
		{args: []string{"serve", "--max-streams", "0"}, code: 1, stderr: "sluice serve: --max-streams 0: want 1 to 1000000 streams"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut)
			if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errOut.String(), tc.stderr) ||
				(tc.noStdout && out.Len() > 0) {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errOut.String())
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if !regexp.MustCompile(`^sluice \S+ \(go1\.\S+ \w+/\w+\)\n$`).MatchString(out.String()) {
		t.Fatalf("version output %q", out.String())
	}
	version = "v9.9.9"
	defer func() { version = "" }()
	if got := versionString(); got != "v9.9.9" {
		t.Fatalf("versionString %q with -X main.version", got)
	}
}
