//go:build unix

package main

import (
	"bufio"
	"errors"
	"go/build"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// goTool returns the go command that runs the tests.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(build.Default.GOROOT, "bin", "go")
}

// exitWait bounds the wait for the process after SIGTERM. It is a guard
// against a hang, far past the 4 s shutdown budget the server enforces
// itself, so a busy machine cannot fail the test.
const exitWait = time.Minute

// TestSIGTERMWhileStreaming builds the real binary, streams an animation
// to a websocket client, and sends SIGTERM: the client must get a close
// frame "going away", and the process must exit with status 0, having
// logged its shutdown.
func TestSIGTERMWhileStreaming(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gradviz")
	build := exec.Command(goTool(t), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-log-level", "info")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	// Exits when the process does.
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() // a no-op once it has exited
		<-exited
	})

	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), listeningPrefix) {
		t.Fatalf("first line: got %q, want %q…; stderr %s", lines.Text(), listeningPrefix, stderr.String())
	}
	addr := strings.TrimPrefix(lines.Text(), listeningPrefix)

	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"animate","id":1,"T":2000,"stepsPerSecond":1}`)); err != nil {
		t.Fatal(err)
	}
	// Streaming: hello, the profile, then the first frame a second later.
	var seen []string
	for !strings.Contains(strings.Join(seen, ","), "frame") {
		var m struct{ Type string }
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("before SIGTERM, after %v: %v", seen, err)
		}
		seen = append(seen, m.Type)
	}

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var closeErr *websocket.CloseError
	for {
		var m struct{ Type string }
		err := conn.ReadJSON(&m)
		if err == nil {
			continue // frames already on their way
		}
		if !errors.As(err, &closeErr) {
			t.Fatalf("after SIGTERM: got %v, want a close frame", err)
		}
		break
	}
	if closeErr.Code != websocket.CloseGoingAway {
		t.Errorf("close code: got %d (%q), want %d going away", closeErr.Code, closeErr.Text, websocket.CloseGoingAway)
	}

	select {
	case <-exited:
		took := time.Since(start)
		if exitErr != nil {
			t.Errorf("exit: got %v, want status 0; stderr:\n%s", exitErr, stderr.String())
		}
		t.Logf("exited %s after SIGTERM", took)
	case <-time.After(exitWait):
		t.Fatalf("still running %s after SIGTERM; stderr:\n%s", exitWait, stderr.String())
	}
	if log := stderr.String(); !strings.Contains(log, `"msg":"shutting down"`) || !strings.Contains(log, `"msg":"stopped"`) {
		t.Errorf("log: got\n%s\nwant shutting down, then stopped", log)
	}
	// A session that outlived the shutdown budget would have been cut.
	if log := stderr.String(); strings.Contains(log, "connections cut") || strings.Contains(log, "requests cut off") {
		t.Errorf("log: got\n%s\nwant every session and request to end within the shutdown budget", log)
	}
}
