package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// Sizes of the concurrency test: writers × messages on one channel, while
// other channels take writes of their own.
const (
	concWriters       = 32
	concPerWriter     = 50
	concTokens        = 4 // write tokens shared by the writers of the main channel
	concSideChannels  = 4
	concSideWriters   = 4
	concSidePerWriter = 25
)

// testConcurrentWriters writes from many goroutines, alternating between
// stores a and b (which may be one store, or two on the same database), and
// checks that every channel's sequences are exactly 1..n, each handed out
// once, with a state row for every token.
func testConcurrentWriters(t *testing.T, a, b walletgate.ChannelStore) {
	stores := []walletgate.ChannelStore{a, b}
	acct := mkAccount(t, a)
	main := mkChannel(t, a, acct, chanOpts{})
	toks := []walletgate.Token{main.Tokens[0]}
	for len(toks) < concTokens {
		toks = append(toks, mkToken(t, b, main, rw))
	}
	side := make([]walletgate.Channel, concSideChannels)
	for i := range side {
		side[i] = mkChannel(t, stores[i%2], acct, chanOpts{})
	}

	type result struct {
		channel int64
		seq     int64
	}
	var (
		mu   sync.Mutex
		got  []result
		wg   sync.WaitGroup
		now  = time.Now()
		ctx  = ctxT(t)
		fail = func(format string, args ...any) { t.Errorf(format, args...) }
	)
	run := func(s walletgate.ChannelStore, ch walletgate.Channel, tok walletgate.Token, n int, tag string) {
		defer wg.Done()
		for i := 0; i < n; i++ {
			m, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: ch.ID, TokenID: tok.ID,
				ContentType: "application/json", Payload: []byte(fmt.Sprintf(`{"w":%q,"i":%d}`, tag, i)), Received: now})
			if err != nil {
				fail("writer %s message %d: %v", tag, i, err)
				return
			}
			mu.Lock()
			got = append(got, result{ch.ID, m.Sequence})
			mu.Unlock()
		}
	}
	for w := 0; w < concWriters; w++ {
		wg.Add(1)
		go run(stores[w%2], main, toks[w%concTokens], concPerWriter, fmt.Sprintf("main-%d", w))
	}
	for c, ch := range side {
		for w := 0; w < concSideWriters; w++ {
			wg.Add(1)
			go run(stores[(c+w)%2], ch, ch.Tokens[0], concSidePerWriter, fmt.Sprintf("side-%d-%d", c, w))
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	byChannel := map[int64][]int64{}
	for _, r := range got {
		byChannel[r.channel] = append(byChannel[r.channel], r.seq)
	}
	checkGapFree := func(ch walletgate.Channel, n int) {
		t.Helper()
		returned := byChannel[ch.ID]
		sort.Slice(returned, func(i, j int) bool { return returned[i] < returned[j] })
		for i, s := range returned {
			if s != int64(i+1) {
				t.Fatalf("channel %d: returned sequences are not 1..%d without gaps or repeats: position %d holds %d", ch.ID, n, i, s)
			}
		}
		if len(returned) != n {
			t.Fatalf("channel %d: %d writes returned, want %d", ch.ID, len(returned), n)
		}
		for i, s := range stores {
			c, err := s.ChannelByExternalID(ctx, ch.ExternalID)
			if err != nil || c.HeadSequence != int64(n) {
				t.Fatalf("store %d: channel %d head %d, %v; want %d", i, ch.ID, c.HeadSequence, err, n)
			}
		}
	}
	checkGapFree(main, concWriters*concPerWriter)
	for _, ch := range side {
		checkGapFree(ch, concSideWriters*concSidePerWriter)
	}
	// Every token got a state row for every message, and sees them in order.
	for i, tok := range toks {
		ms, err := stores[i%2].Messages(ctx, main.ID, tok.ID, false)
		if err != nil {
			t.Fatalf("Messages: %v", err)
		}
		if len(ms) != concWriters*concPerWriter {
			t.Fatalf("token %d sees %d messages, want %d", tok.ID, len(ms), concWriters*concPerWriter)
		}
		for j, m := range ms {
			if m.Sequence != int64(j+1) {
				t.Fatalf("token %d: message %d has seq %d", tok.ID, j, m.Sequence)
			}
		}
	}
}

// testSequencedRace starts one write from each of 16 tokens of a sequenced
// channel at once. Whoever commits first leaves every other token an unread
// message, so exactly one write may succeed and the rest must get 10002:
// the rule check and the insert have to be one atomic step, across stores.
func testSequencedRace(t *testing.T, a, b walletgate.ChannelStore) {
	stores := []walletgate.ChannelStore{a, b}
	acct := mkAccount(t, a)
	ch := mkChannel(t, a, acct, chanOpts{sequenced: true})
	toks := []walletgate.Token{ch.Tokens[0]}
	for len(toks) < 16 {
		toks = append(toks, mkToken(t, b, ch, rw))
	}
	ctx := ctxT(t)
	for round := 1; round <= 3; round++ {
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ok       []int64
			refused  int
			start    = make(chan struct{})
			received = time.Now()
		)
		for i, tok := range toks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				m, err := stores[i%2].WriteMessage(ctx, walletgate.NewMessage{ChannelID: ch.ID, TokenID: tok.ID,
					ContentType: "application/json", Payload: []byte("{}"), Received: received})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok = append(ok, m.Sequence)
				case walletgate.ErrorMessage(err) == reasonSequencing:
					refused++
				default:
					t.Errorf("token %d: unexpected error %v", tok.ID, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(ok) != 1 || ok[0] != int64(round) || refused != len(toks)-1 {
			t.Fatalf("round %d: successful writes got sequences %v and %d were refused; want exactly one write, seq %d, and %d refusals",
				round, ok, refused, round, len(toks)-1)
		}
		// Everyone reads everything, so the next round starts level.
		for i, tok := range toks {
			if err := stores[i%2].MarkRead(ctx, ch.ID, tok.ID, int64(round), true, true); err != nil {
				t.Fatalf("MarkRead: %v", err)
			}
		}
	}
}
