//go:build unix

package walletnotify

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func startPipe(t *testing.T, cfg PipeConfig, rec *recorder) (path string, stop func() error) {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "walletnotify.fifo")
	}
	cfg.Coin = "btc"
	cfg.Logger = quietLogger()
	p, err := NewPipe(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	stop = runIntake(t, p.Run)
	// The FIFO exists once Run made it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Lstat(cfg.Path)
		if err == nil && fi.Mode()&fs.ModeNamedPipe != 0 && fi.Mode().Perm() == p.cfg.Mode {
			return cfg.Path, stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("FIFO %s not ready: %v %v", cfg.Path, fi, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// write opens the FIFO as bitcoind's "echo >>" does, writes each chunk
// separately, and closes it again.
func write(t *testing.T, path string, chunks ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if _, err := f.WriteString(c); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // let the reader see the chunk alone
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPipeIntake(t *testing.T) {
	tests := []struct {
		name   string
		writes [][]string // one writer per element, in sequence
		want   []string
	}{
		{"LF", [][]string{{hash(1) + "\n"}}, []string{"btc tx " + hash(1)}},
		{"CR and CRLF and blanks", [][]string{{hash(1) + "\r" + hash(2) + "\r\n\n  \n" + hash(3) + "\n"}},
			[]string{"btc tx " + hash(1), "btc tx " + hash(2), "btc tx " + hash(3)}},
		{"trimmed, upper-case", [][]string{{"  " + strings.ToUpper(hash(0xfe)) + " \t\n"}}, []string{"btc tx " + hash(0xfe)}},
		{"partial lines across writes", [][]string{{hash(4)[:10], hash(4)[10:50], hash(4)[50:] + "\r", "\n" + hash(5)[:3], hash(5)[3:] + "\n"}},
			[]string{"btc tx " + hash(4), "btc tx " + hash(5)}},
		{"writers in sequence", [][]string{{hash(6) + "\n"}, {hash(7) + "\n"}, {hash(8) + "\n"}},
			[]string{"btc tx " + hash(6), "btc tx " + hash(7), "btc tx " + hash(8)}},
		{"line ends with the next writer", [][]string{{hash(9)[:20]}, {hash(9)[20:] + "\n"}}, []string{"btc tx " + hash(9)}},
		{"bad lines skipped, rest delivered", [][]string{{"nonsense\n" + hash(10) + "\n" + strings.Repeat("a", 5000) + "\n" + hash(11) + "\n"}},
			[]string{"btc tx " + hash(10), "btc tx " + hash(11)}},
		{"failed txid does not stop the intake", [][]string{{hash(99) + "\n" + hash(12) + "\n"}}, []string{"btc tx " + hash(12)}},
		{"block line", [][]string{{"block:" + hash(13) + "\n"}}, []string{"btc block " + hash(13)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.fail[hash(99)] = true
			path, _ := startPipe(t, PipeConfig{}, rec)
			for _, w := range tc.writes {
				write(t, path, w...)
			}
			rec.waitFor(t, tc.want...)
		})
	}
}

func TestPipeLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notify")
	// A stale regular file from an earlier run is replaced.
	if err := os.WriteFile(path, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o077) // a strict umask must not strip the mode
	defer syscall.Umask(old)
	rec := newRecorder()
	_, stop := startPipe(t, PipeConfig{Path: path, Mode: 0o622}, rec)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeNamedPipe == 0 || fi.Mode().Perm() != 0o622 {
		t.Fatalf("mode %v, want a named pipe with 0622", fi.Mode())
	}
	write(t, path, hash(1)+"\n")
	rec.waitFor(t, "btc tx "+hash(1))
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("FIFO still there after stop: %v", err)
	}
}

func TestPipeDefaultMode(t *testing.T) {
	rec := newRecorder()
	path, _ := startPipe(t, PipeConfig{}, rec)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o703 {
		t.Fatalf("mode %v, want 0703", fi.Mode().Perm())
	}
}

func TestNewPipeRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  PipeConfig
		want string
	}{
		{"no path", PipeConfig{Coin: "btc"}, "needs Path"},
		{"no coin", PipeConfig{Path: "/tmp/x"}, "needs Coin"},
		{"non-permission mode", PipeConfig{Path: "/tmp/x", Coin: "btc", Mode: fs.ModeSetuid | 0o600}, "only permission bits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPipe(tc.cfg, newRecorder())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// Stopping must not wait for a writer: Run returns promptly on cancel
// even though no one ever wrote.
func TestPipeStopsWithoutWriters(t *testing.T) {
	p, err := NewPipe(PipeConfig{Path: filepath.Join(t.TempDir(), "f"), Coin: "btc", Logger: quietLogger()}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
