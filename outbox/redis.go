package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletgate/walletgate"
)

// DefaultRedisChannel is the channel Redis handlers publish to by default.
const DefaultRedisChannel = "walletgate_txupdate"

// RedisOptions configures a Redis handler.
type RedisOptions struct {
	// Name is the handler's queue name.
	Name string
	// Client publishes; its owner closes it.
	Client *redis.Client
	// Channel is the pub/sub channel (default DefaultRedisChannel).
	Channel string
	// Timeout bounds each PUBLISH (default 5s).
	Timeout time.Duration
}

// Redis PUBLISHes {"event_name","data"} per event. Pub/sub keeps nothing
// for absent subscribers, so a success means only that Redis took it.
type Redis struct{ o RedisOptions }

// NewRedis checks o and returns the handler.
func NewRedis(o RedisOptions) (*Redis, error) {
	if o.Name == "" || o.Client == nil {
		return nil, walletgate.Errorf(walletgate.EInvalid, "outbox: redis handler %q needs a name and a client", o.Name)
	}
	if o.Channel == "" {
		o.Channel = DefaultRedisChannel
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	return &Redis{o: o}, nil
}

// Name implements Handler.
func (r *Redis) Name() string { return r.o.Name }

// Deliver implements Handler.
func (r *Redis) Deliver(ctx context.Context, ev walletgate.TxUpdate, data []byte) error {
	body, err := encodeEnvelope(data)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	if err := r.o.Client.Publish(ctx, r.o.Channel, body).Err(); err != nil {
		return fmt.Errorf("outbox: publish %s to redis channel %s: %w", ev.EventID, r.o.Channel, err)
	}
	return nil
}
