package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// remoteServer reads a server's resource use from its /metrics, as the
// Prometheus process collector reports it.
type remoteServer struct{}

func (remoteServer) begin() {}

func (remoteServer) usage(ctx context.Context, base string) (float64, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("reading /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("reading /metrics: status %d", resp.StatusCode)
	}
	return parseProcessMetrics(resp.Body)
}

// parseProcessMetrics finds process_cpu_seconds_total and
// process_resident_memory_bytes in Prometheus text format.
func parseProcessMetrics(r io.Reader) (cpu float64, rss int64, err error) {
	found := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			cpu, err = strconv.ParseFloat(strings.TrimSpace(value), 64)
		case "process_resident_memory_bytes":
			var f float64
			f, err = strconv.ParseFloat(strings.TrimSpace(value), 64)
			rss = int64(f)
		default:
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("metric %s: %w", name, err)
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading /metrics: %w", err)
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("/metrics lacks process_cpu_seconds_total or process_resident_memory_bytes")
	}
	return cpu, rss, nil
}

// selfUsage reads this process's CPU time and peak RSS from /proc: the
// embedded server runs here.
type selfUsage struct{}

// begin resets the peak RSS so that it covers the run, not event
// generation before it. Kernels without clear_refs keep the old peak.
func (selfUsage) begin() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func (selfUsage) usage(context.Context, string) (float64, int64, error) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, err
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	return parseProcStat(stat, status)
}

// procClockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const procClockTicks = 100

// parseProcStat returns utime+stime in seconds from /proc/<pid>/stat and
// VmHWM in bytes from /proc/<pid>/status.
func parseProcStat(stat, status []byte) (cpu float64, hwm int64, err error) {
	// Fields after the command name, which may hold spaces, sit after ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc stat: %d fields", len(f)+2)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc stat: utime %q stime %q", f[11], f[12])
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc status VmHWM %q: %w", v, err)
			}
			return float64(ut+st) / procClockTicks, kb << 10, nil
		}
	}
	return 0, 0, fmt.Errorf("/proc status: no VmHWM")
}
