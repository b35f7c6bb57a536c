//go:build unix

package api

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gradviz/internal/engine"
)

// A NAME.json in -tours that is not a regular file (here a named pipe,
// which a read would wait on forever) is refused by name, at once.
func TestLoadToursRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.json"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := LoadTours(dir, engine.DefaultLimits(), engine.DefaultTrainLimits())
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "pipe.json") {
			t.Errorf("LoadTours with a named pipe: %v, want an error naming pipe.json", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("LoadTours is still reading a named pipe after a minute")
	}
}
