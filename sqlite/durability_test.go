package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/sqlite"
)

// Environment of the writer child process in TestSIGKILLDurability.
const (
	envChildDB      = "WALLETGATE_SQLITE_CHILD_DB"
	envChildChannel = "WALLETGATE_SQLITE_CHILD_CHANNEL"
	envChildToken   = "WALLETGATE_SQLITE_CHILD_TOKEN"
)

// TestSIGKILLDurability starts a child process that writes messages from 8
// goroutines and prints each sequence once WriteMessage has returned, kills
// it with SIGKILL mid-stream, and checks that every acknowledged message is
// in the reopened file, with gap-free sequences.
func TestSIGKILLDurability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.sqlite")
	ctx := context.Background()
	s := openAt(t, path)
	a, err := s.CreateAccount(ctx, []byte{2, 1, 2, 3}, "api-key")
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	ch, err := s.CreateChannel(ctx, walletgate.Channel{ExternalID: "crash", AccountID: a.ID},
		walletgate.Token{Value: "owner", Flags: walletgate.TokenRead | walletgate.TokenWrite | walletgate.TokenOwner})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	reader, err := s.CreateToken(ctx, walletgate.Token{ChannelID: ch.ID, Value: "reader", Flags: walletgate.TokenRead})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	cmd := exec.Command(os.Args[0]) // TestMain sees the environment and runs durabilityChild
	cmd.Env = append(os.Environ(), envChildDB+"="+path,
		envChildChannel+"="+strconv.FormatInt(ch.ID, 10), envChildToken+"="+strconv.FormatInt(ch.Tokens[0].ID, 10))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	acked := map[int64]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 500 {
		if seq, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
			acked[seq] = true
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	for sc.Scan() { // acknowledgements already in the pipe count too
		if seq, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
			acked[seq] = true
		}
	}
	_ = cmd.Wait() // "signal: killed" is the point
	if len(acked) < 500 {
		t.Fatalf("child acknowledged only %d writes before it ended", len(acked))
	}

	s = openAt(t, path)
	defer s.Close()
	ms, err := s.Messages(ctx, ch.ID, reader.ID, false)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	stored := map[int64]bool{}
	for i, m := range ms {
		if m.Sequence != int64(i+1) {
			t.Fatalf("after the crash, message %d has sequence %d: not gap-free", i, m.Sequence)
		}
		stored[m.Sequence] = true
	}
	for seq := range acked {
		if !stored[seq] {
			t.Fatalf("acknowledged message %d lost after SIGKILL (%d acknowledged, %d stored)", seq, len(acked), len(ms))
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL, %d stored", len(acked), len(ms))
}

// TestMain runs the writer child of TestSIGKILLDurability instead of the
// tests when started as that child.
func TestMain(m *testing.M) {
	if path := os.Getenv(envChildDB); path != "" {
		if err := durabilityChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "durability child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// durabilityChild writes from 8 goroutines until killed (or a minute
// passes), printing each sequence after WriteMessage returned it.
func durabilityChild(path string) error {
	chID, err := strconv.ParseInt(os.Getenv(envChildChannel), 10, 64)
	if err != nil {
		return fmt.Errorf("channel id: %w", err)
	}
	tokID, err := strconv.ParseInt(os.Getenv(envChildToken), 10, 64)
	if err != nil {
		return fmt.Errorf("token id: %w", err)
	}
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				m, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: chID, TokenID: tokID,
					ContentType: "application/octet-stream", Payload: []byte("durable")})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, m.Sequence) // unbuffered: one write per acknowledgement
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
