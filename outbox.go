package walletgate

import (
	"strings"
	"time"
)

// OutboxItem is one event waiting for delivery to one handler.
type OutboxItem struct {
	ID       int64
	Handler  string
	Attempts int // deliveries tried so far, counting this claim
	// Payload is the event exactly as it was queued (MarshalTxUpdate at
	// commit time). Handlers deliver these bytes unchanged, so what a
	// receiver gets never depends on the delivering binary's encoder.
	Payload []byte
	// Event is Payload decoded, for routing (account sockets) and logs.
	Event TxUpdate
}

// OutboxEvent is one txupdate as a store queues it for every registered
// handler: the delivered bytes, plus the columns the outbox orders and
// deduplicates by.
type OutboxEvent struct {
	EventID string
	Coin    string
	// Address orders deliveries: one address's events go out in order.
	Address string
	Payload []byte
}

// NewOutboxEvents encodes events for the outbox, in order.
func NewOutboxEvents(events []TxUpdate) ([]OutboxEvent, error) {
	out := make([]OutboxEvent, 0, len(events))
	for _, u := range events {
		b, err := MarshalTxUpdate(u)
		if err != nil {
			return nil, err
		}
		out = append(out, OutboxEvent{EventID: u.EventID, Coin: u.Coin, Address: u.Address, Payload: b})
	}
	return out, nil
}

// ValidateHandlerName checks a RegisterHandler name, the same way in every
// store: it names a queue that must survive restarts, so it cannot be blank.
func ValidateHandlerName(handler string) error {
	if strings.TrimSpace(handler) == "" {
		return Errorf(EInvalid, "handler name is empty")
	}
	return nil
}

// ValidateClaim checks ClaimOutbox's arguments, the same way in every store.
func ValidateClaim(handler string, limit int, lease time.Duration) error {
	if limit <= 0 || lease <= 0 {
		return Errorf(EInvalid, "claim outbox %q: limit %d and lease %v must be positive", handler, limit, lease)
	}
	return nil
}
