// Package redistest runs Debian's redis-server as a child process for
// tests: on a free loopback port, without persistence, killed at cleanup.
package redistest

import (
	"bufio"
	"bytes"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Server is one redis-server child process that can be stopped and
// started again on the same port.
type Server struct {
	t    testing.TB
	bin  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	out    *bytes.Buffer
	exited chan struct{}
}

// Start runs a redis-server for the test and returns its address.
func Start(t testing.TB) string {
	t.Helper()
	return NewServer(t).Addr()
}

// NewServer runs a redis-server for the test, ready to answer PING.
func NewServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: apt-get install -y redis-server")
	}
	s := &Server{t: t, bin: bin, port: freePort(t)}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the address as a redis:// URL, as --redis-url takes it.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Stop kills the server (like a crash: its data is gone) and waits for it
// to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts a stopped server again on the same port and waits until
// it answers PING. A running server is left alone.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	out := &bytes.Buffer{}
	cmd := exec.Command(s.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--save", "", "--appendonly", "no")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.out, s.exited = cmd, out, exited
	deadline := time.Now().Add(10 * time.Second)
	for !ping(s.Addr()) {
		select {
		case <-exited:
			s.cmd = nil
			s.t.Fatalf("redistest: redis-server exited before answering PING:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: redis-server did not answer PING on %s within 10s:\n%s", s.Addr(), out)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ping reports whether a server at addr answers PING with PONG.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
