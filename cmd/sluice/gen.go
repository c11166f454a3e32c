package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"sluice/plugins/sources/generator"
)

// genOptions are the flags of `sluice gen`.
type genOptions struct {
	cfg     generator.Config
	start   string
	url     string
	stream  string
	batch   int
	token   string
	summary io.Writer // where the --url summary goes
}

func genFlags(fs *flag.FlagSet, o *genOptions) {
	d := generator.DefaultConfig()
	o.cfg = d
	fs.Uint64Var(&o.cfg.Seed, "seed", d.Seed, "random seed; the same flags give the same events")
	fs.IntVar(&o.cfg.Users, "users", d.Users, "human users (raised to what --rate needs unless set)")
	fs.IntVar(&o.cfg.Count, "count", 0, "stop after this many events (0 = no limit)")
	fs.DurationVar(&o.cfg.Duration, "duration", 0, "stop after this much event time (0 = no limit)")
	fs.Float64Var(&o.cfg.Rate, "rate", 0, "events per second, sent in real time by their timestamps; 0 = as fast as possible")
	fs.Float64Var(&o.cfg.BotFraction, "bots", d.BotFraction, "share of events from bots, the abusive IP included")
	fs.Float64Var(&o.cfg.AbuseRate, "abuse-rate", d.AbuseRate, "requests per second of the abusive IP while it hammers (0 = none)")
	fs.DurationVar(&o.cfg.Jitter, "jitter", 0, "deliver events up to this much out of event-time order")
	fs.IntVar(&o.cfg.Items, "items", d.Items, "catalogue size")
	fs.StringVar(&o.start, "start", "now", `event time of the first event: RFC 3339 or "now"`)
	fs.StringVar(&o.url, "url", "", "POST NDJSON batches to this sluice server instead of writing to stdout")
	fs.StringVar(&o.stream, "stream", "events", "stream to POST to")
	fs.IntVar(&o.batch, "batch", 500, "events per POST")
	fs.StringVar(&o.token, "token", os.Getenv("SLUICE_INGEST_TOKEN"), "ingest bearer token (env SLUICE_INGEST_TOKEN)")
}

func init() {
	commands["gen"] = command{summary: "generate realistic clickstream as NDJSON, or POST it to a server", run: runGen}
}

// runGen is `sluice gen`: realistic clickstream as NDJSON on stdout or
// POSTed to a server.
func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := genOptions{summary: stderr}
	genFlags(fs, &o)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: sluice gen [flags]

Writes realistic clickstream as NDJSON to stdout, or POSTs it in batches to
a sluice server with --url. The same flags give the same events.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	usersSet := false
	fs.Visit(func(f *flag.Flag) { usersSet = usersSet || f.Name == "users" })
	if !usersSet {
		o.cfg = o.cfg.WithUsersForRate()
	}
	return genEvents(ctx, o, stdout)
}

// parseFlags parses a tool's flags, which take no arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "sluice %s takes no arguments, got %q\n", fs.Name(), fs.Args())
		return errUsage
	}
	return nil
}

func parseGenStart(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now.Truncate(time.Millisecond), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf(`--start %q: want RFC 3339 (2025-01-01T00:00:00Z) or "now"`, s)
	}
	return t, nil
}

// genEvents writes or posts the events. With a rate it sends each event
// once the wall clock reaches its timestamp (relative to the start), so
// bursts and lulls arrive as they would in real traffic.
func genEvents(ctx context.Context, o genOptions, stdout io.Writer) error {
	start, err := parseGenStart(o.start, time.Now())
	if err != nil {
		return err
	}
	o.cfg.Start = start
	if o.batch < 1 {
		return fmt.Errorf("--batch must be at least 1, got %d", o.batch)
	}
	g, err := generator.New(o.cfg)
	if err != nil {
		return err
	}
	var (
		poster *eventPoster
		out    *bufio.Writer
	)
	if o.url != "" {
		if poster, err = newEventPoster(o.url, o.stream, o.token, 1); err != nil {
			return err
		}
	} else {
		out = bufio.NewWriterSize(stdout, 64<<10)
	}
	buf := make([]byte, 0, o.batch*512)
	inBatch, sent := 0, 0
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		var err error
		if poster != nil {
			err = poster.post(ctx, buf, inBatch)
		} else if _, err = out.Write(buf); err == nil {
			err = out.Flush()
		}
		if err != nil {
			return err
		}
		sent += inBatch
		buf, inBatch = buf[:0], 0
		return nil
	}
	began := time.Now()
	var latest int64
	for ctx.Err() == nil {
		e, ok := g.Next()
		if !ok {
			break
		}
		if o.cfg.Rate > 0 {
			latest = max(latest, e.TS)
			due := began.Add(time.Duration(latest-start.UnixMilli()) * time.Millisecond)
			if d := time.Until(due); d > 0 {
				// Nothing waits in a batch while we sleep.
				if err := flush(); err != nil {
					return err
				}
				if sleepOrDone(ctx, d) != nil {
					break
				}
			}
		}
		buf = append(e.AppendJSON(buf), '\n')
		inBatch++
		if inBatch >= o.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if poster != nil {
		el := time.Since(began)
		fmt.Fprintf(o.summary, "sluice gen: %d events to %s in %v (%.0f/s), %d answers 429, %d retried errors\n",
			sent, poster.url, el.Round(time.Millisecond), float64(sent)/el.Seconds(), poster.throttled.Load(), poster.failed.Load())
	}
	return nil
}
