package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/walletgate/walletgate"
)

// Handler delivers one event. A nil error means the receiver accepted it;
// any error means "try again later". Deliver must honour ctx.
type Handler interface {
	// Name identifies the handler's outbox queue; it must stay the same
	// across restarts, or the queue is orphaned.
	Name() string
	// Deliver sends the txupdate event ev. data is its JSON payload
	// exactly as queued in the outbox; handlers send it unchanged (inside
	// their own envelope or form fields) and read ev only to route and log.
	Deliver(ctx context.Context, ev walletgate.TxUpdate, data []byte) error
}

// envelope is the JSON body of the JSON-mode HTTP handler and of Redis
// messages: the event name beside the cryptoassets payload.
type envelope struct {
	EventName string          `json:"event_name"`
	Data      json.RawMessage `json:"data"`
}

func encodeEnvelope(data []byte) ([]byte, error) {
	b, err := json.Marshal(envelope{EventName: walletgate.EventTxUpdate, Data: data})
	if err != nil {
		return nil, fmt.Errorf("encode event envelope: %w", err)
	}
	return b, nil
}

// Func is an in-process handler (cryptoassets' InProcessEventHandler).
type Func struct {
	HandlerName string
	Fn          func(ctx context.Context, eventName string, ev walletgate.TxUpdate, data []byte) error
}

// Name implements Handler.
func (f Func) Name() string { return f.HandlerName }

// Deliver implements Handler.
func (f Func) Deliver(ctx context.Context, ev walletgate.TxUpdate, data []byte) error {
	return f.Fn(ctx, walletgate.EventTxUpdate, ev, data)
}

// AccountPublisher pushes an event to the sockets subscribed to an
// account; the socket hub satisfies it once wired by the main program.
type AccountPublisher interface {
	PublishAccountEvent(coin, account string, payload []byte) error
}

// Sockets delivers events to account sockets through an AccountPublisher.
type Sockets struct {
	HandlerName string
	Publisher   AccountPublisher
}

// Name implements Handler.
func (s Sockets) Name() string { return s.HandlerName }

// Deliver implements Handler. The payload is the bare txupdate object:
// the socket transports name the event themselves ("txupdate").
func (s Sockets) Deliver(ctx context.Context, ev walletgate.TxUpdate, data []byte) error {
	if err := s.Publisher.PublishAccountEvent(ev.Coin, ev.Account, data); err != nil {
		return fmt.Errorf("publish %s to %s account %q: %w", ev.EventID, ev.Coin, ev.Account, err)
	}
	return nil
}
