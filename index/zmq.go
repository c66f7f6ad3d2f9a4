package index

import (
	"context"
	"fmt"
	"time"

	"github.com/go-zeromq/zmq4"
)

// zmqTopics are Bitcoin Core's notifications that mean "poll now".
var zmqTopics = []string{"hashblock", "rawblock", "hashtx", "rawtx", "sequence"}

// runZMQ subscribes to Core's ZMQ publishers (-zmqpubhashblock,
// -zmqpubrawtx, ...) until ctx ends and turns every message into Notify;
// the content is not needed, since Sync reads the node itself. Polling
// stays on, so a silent publisher only costs latency.
func (x *Index) runZMQ(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := x.zmqOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		x.log.Warn("index: zmq subscription ended; reconnecting", "endpoints", x.opts.ZMQEndpoints, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, x.opts.PollInterval*8)
	}
}

func (x *Index) zmqOnce(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub := zmq4.NewSub(ctx, zmq4.WithDialerRetry(time.Second), zmq4.WithDialerTimeout(wsTimeout), zmq4.WithAutomaticReconnect(true))
	defer sub.Close()
	for _, ep := range x.opts.ZMQEndpoints {
		if err := sub.Dial(ep); err != nil {
			return fmt.Errorf("dial %s: %w", ep, err)
		}
	}
	for _, topic := range zmqTopics {
		if err := sub.SetOption(zmq4.OptionSubscribe, topic); err != nil {
			return fmt.Errorf("subscribe %s: %w", topic, err)
		}
	}
	x.Notify() // news may have come while we were not listening
	for {
		if _, err := sub.Recv(); err != nil {
			return err
		}
		x.Notify()
	}
}
