package walletnotify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletgate/walletgate/internal/testenv"
)

// redisHarness is a test's view of the real Redis: a publisher client and
// a unique channel and client name, so parallel test runs on the shared
// server never see each other.
type redisHarness struct {
	url, channel, name string
	pub                *redis.Client
}

func newRedisHarness(t *testing.T) *redisHarness {
	t.Helper()
	u := testenv.RedisURL(t)
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	pub := redis.NewClient(opts)
	t.Cleanup(func() { pub.Close() })
	suffix := hash(int(time.Now().UnixNano()))[48:]
	return &redisHarness{url: u, channel: "wn-test-" + suffix, name: "wn-test-" + suffix, pub: pub}
}

func (h *redisHarness) start(t *testing.T, rec *recorder) func() error {
	t.Helper()
	in, err := NewRedis(RedisConfig{URL: h.url, Channel: h.channel, ClientName: h.name, Coin: "btc", MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Logger: quietLogger()}, rec)
	if err != nil {
		t.Fatal(err)
	}
	stop := runIntake(t, in.Run)
	h.waitSubscribed(t)
	return stop
}

// waitSubscribed waits until Redis reports one subscriber on the channel:
// only then is a publish sure to reach the intake.
func (h *redisHarness) waitSubscribed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := h.pub.PubSubNumSub(ctx, h.channel).Result()
		if err == nil && n[h.channel] == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("intake never subscribed to %s: %v %v", h.channel, n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *redisHarness) publish(t *testing.T, msg string) {
	t.Helper()
	n, err := h.pub.Publish(context.Background(), h.channel, msg).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("publish reached %d subscribers, want 1", n)
	}
}

// killIntake kills the intake's connection by client id (only ours: the
// server is shared) and reports how many it killed.
func (h *redisHarness) killIntake(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	list, err := h.pub.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		var id, name string
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "id":
				id = v
			case "name":
				name = v
			}
		}
		if name != h.name {
			continue
		}
		if err := h.pub.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
			t.Fatalf("CLIENT KILL ID %s: %v", id, err)
		}
		killed++
	}
	return killed
}

func TestRedisIntake(t *testing.T) {
	h := newRedisHarness(t)
	rec := newRecorder()
	rec.fail[hash(99)] = true
	h.start(t, rec)
	tests := []struct {
		name string
		msg  string
		want string // "" when nothing must be delivered
	}{
		{"txid", hash(1), "btc tx " + hash(1)},
		{"trailing newline from redis-cli scripts", hash(2) + "\n", "btc tx " + hash(2)},
		{"block", "block:" + hash(3), "btc block " + hash(3)},
		{"garbage is skipped", "hello", ""},
		{"too long is dropped", strings.Repeat("a", 4096), ""},
		{"failing txid is skipped", hash(99), ""},
		{"upper case", strings.ToUpper(hash(0xabc)), "btc tx " + hash(0xabc)},
	}
	var want []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.publish(t, tc.msg)
			// A valid marker after each message proves the intake is
			// still reading and that the message before it gave nothing
			// else.
			h.publish(t, hash(1000))
			if tc.want != "" {
				want = append(want, tc.want)
			}
			want = append(want, "btc tx "+hash(1000))
			rec.waitFor(t, want...)
		})
	}
}

func TestRedisResubscribesAfterKill(t *testing.T) {
	h := newRedisHarness(t)
	rec := newRecorder()
	stop := h.start(t, rec)
	h.publish(t, hash(1))
	rec.waitFor(t, "btc tx "+hash(1))
	for round := 2; round <= 3; round++ {
		if n := h.killIntake(t); n != 1 {
			t.Fatalf("killed %d intake connections, want 1", n)
		}
		h.waitSubscribed(t)
		h.publish(t, hash(round))
		want := []string{}
		for i := 1; i <= round; i++ {
			want = append(want, "btc tx "+hash(i))
		}
		rec.waitFor(t, want...)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestNewRedisRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  RedisConfig
		want string
	}{
		{"no coin", RedisConfig{}, "needs Coin"},
		{"bad URL", RedisConfig{Coin: "btc", URL: "http://x"}, "Redis URL"},
		{"bad port", RedisConfig{Coin: "btc", Port: 70000}, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRedis(tc.cfg, newRecorder())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// Every address field, username included (the original rejected it),
// reaches the client options.
func TestRedisConfigFields(t *testing.T) {
	in, err := NewRedis(RedisConfig{Coin: "btc", Host: "10.0.0.1", Port: 6380, DB: 3, Username: "u", Password: "p"}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	o := in.opts
	if o.Addr != "10.0.0.1:6380" || o.DB != 3 || o.Username != "u" || o.Password != "p" || in.cfg.Channel != DefaultRedisChannel {
		t.Fatalf("options %s db=%d user=%q pass=%q channel=%q", o.Addr, o.DB, o.Username, o.Password, in.cfg.Channel)
	}
}
