package redistest

import "testing"

func TestStopAndRestartOnTheSamePort(t *testing.T) {
	s := NewServer(t)
	if !ping(s.Addr()) {
		t.Fatalf("%s does not answer PING after start", s.Addr())
	}
	s.Stop()
	if ping(s.Addr()) {
		t.Fatalf("%s still answers PING after Stop", s.Addr())
	}
	s.Restart()
	if !ping(s.Addr()) {
		t.Fatalf("%s does not answer PING after Restart", s.Addr())
	}
	if addr := Start(t); addr == s.Addr() || !ping(addr) {
		t.Fatalf("second server at %s (first at %s) is not separate or not answering", addr, s.Addr())
	}
}
