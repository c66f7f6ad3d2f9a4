package hub

import (
	"encoding/json"

	"github.com/walletgate/walletgate"
)

// Client-safe texts of refused account subscribes. Transports show them
// verbatim.
const (
	MsgAccountsDisabled = "account subscriptions are not enabled"
	MsgAccountRequired  = "account is required"
)

// SubscribeAccount makes the connection receive the txupdate events of
// account (Hub.PublishAccountEvent) once key opens it
// (Config.AccountKey). Subscribing again to the same account costs
// nothing. The errors are *walletgate.Error with a client-safe message:
//
//   - EForbidden: account subscriptions are disabled (Config.AccountKey nil);
//   - EInvalid: account is empty or longer than Config.MaxAccountLen;
//   - EUnauthorized: a wrong key, or Config.MaxKeyFailures wrong keys
//     already tried on this connection;
//   - ETooLarge: Config.MaxAccountsPerConn accounts already subscribed;
//
// and ErrConnClosed on a closed connection. A refused subscribe changes
// no subscription of the connection.
func (c *Conn) SubscribeAccount(account, key string) error {
	h := c.hub
	if h.cfg.AccountKey == nil {
		return walletgate.Errorf(walletgate.EForbidden, "%s", MsgAccountsDisabled)
	}
	if err := h.checkAccount(account); err != nil {
		return err
	}
	h.mu.Lock()
	if c.closed {
		h.mu.Unlock()
		return ErrConnClosed
	}
	if c.keyFailures >= h.cfg.MaxKeyFailures {
		h.mu.Unlock()
		return walletgate.Errorf(walletgate.EUnauthorized, "too many wrong keys on this connection (max %d)", h.cfg.MaxKeyFailures)
	}
	h.mu.Unlock()

	ok := h.cfg.AccountKey(c.coin.name, account, key)

	h.mu.Lock()
	defer h.mu.Unlock()
	if c.closed {
		return ErrConnClosed
	}
	if !ok {
		c.keyFailures++
		return walletgate.Errorf(walletgate.EUnauthorized, "wrong key for account %q", account)
	}
	if _, ok := c.accounts[account]; ok {
		return nil
	}
	if len(c.accounts) >= h.cfg.MaxAccountsPerConn {
		return walletgate.Errorf(walletgate.ETooLarge, "too many accounts on this connection (max %d)", h.cfg.MaxAccountsPerConn)
	}
	if c.accounts == nil {
		c.accounts = make(map[string]struct{})
	}
	c.accounts[account] = struct{}{}
	subs := c.coin.accounts[account]
	if subs == nil {
		subs = make(map[*Conn]struct{})
		c.coin.accounts[account] = subs
	}
	subs[c] = struct{}{}
	return nil
}

// UnsubscribeAccount stops the account's events on this connection. An
// account it was not subscribed to is ignored; an invalid one is refused
// with EInvalid as in SubscribeAccount.
func (c *Conn) UnsubscribeAccount(account string) error {
	if err := c.hub.checkAccount(account); err != nil {
		return err
	}
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	if _, ok := c.accounts[account]; ok {
		c.dropAccountLocked(account)
	}
	return nil
}

// Accounts returns how many accounts the connection subscribes to.
func (c *Conn) Accounts() int {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return len(c.accounts)
}

// dropAccountLocked removes account from the connection and from the
// coin's subscribers. h.mu must be held.
func (c *Conn) dropAccountLocked(account string) {
	delete(c.accounts, account)
	if subs := c.coin.accounts[account]; subs != nil {
		delete(subs, c)
		if len(subs) == 0 {
			delete(c.coin.accounts, account)
		}
	}
}

func (h *Hub) checkAccount(account string) error {
	switch {
	case account == "":
		return walletgate.Errorf(walletgate.EInvalid, "%s", MsgAccountRequired)
	case len(account) > h.cfg.MaxAccountLen:
		return walletgate.Errorf(walletgate.EInvalid, "account is limited to %d bytes", h.cfg.MaxAccountLen)
	}
	return nil
}

// PublishAccountEvent pushes payload, one event's JSON object (the
// txupdate of walletgate.MarshalTxUpdate), to every connection of coin
// subscribed to account right now, through each connection's bounded
// queue: a connection that falls Config.QueueSize pushes behind is closed
// as a slow consumer, as for balance and block pushes. It implements
// outbox.AccountPublisher.
//
// Delivery is best effort to whoever is connected: an account with no
// subscriber, or a closed hub, is not an error, since an error makes the
// events outbox retry the event, and it would retry for as long as nobody
// listens. Applications that must see every event use the HTTP, Redis or
// script handlers, which are at least once. The errors are ENotFound for a
// coin not attached to the hub and EInvalid for a payload that is not a
// JSON object (a bug of the caller: transports splice it into frames).
func (h *Hub) PublishAccountEvent(coin, account string, payload []byte) error {
	if len(payload) < 2 || payload[0] != '{' || !json.Valid(payload) {
		return walletgate.Errorf(walletgate.EInvalid, "account event of %s %q: payload is not a JSON object", coin, account)
	}
	h.mu.Lock()
	cs, ok := h.coins[coin]
	if !ok {
		h.mu.Unlock()
		return walletgate.Errorf(walletgate.ENotFound, "coin %q is not served", coin)
	}
	if h.closed || len(cs.accounts[account]) == 0 {
		h.mu.Unlock()
		return nil
	}
	conns := make([]*Conn, 0, len(cs.accounts[account]))
	for c := range cs.accounts[account] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	// The caller may reuse its buffer once this returns; the pushes are
	// written later.
	ev := &Event{Kind: KindAccount, Coin: coin, Account: account, Payload: append([]byte(nil), payload...)}
	for _, c := range conns {
		c.send(ev, "")
	}
	return nil
}
