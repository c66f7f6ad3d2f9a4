package socketio

import (
	"github.com/walletgate/walletgate"
)

// Account events (an extension: cryptoassets' txupdate, spec/cryptoassets.md
// §8, pushed to the sockets of the account).
const (
	evSubscribeAccount    = "subscribe_account"
	evUnsubscribeAccount  = "unsubscribe_account"
	evAccountSubscribed   = "account_subscribed"
	evAccountUnsubscribed = "account_unsubscribed"

	msgAccountArgs = "subscribe_account takes {account, key}: account and key must be strings"
	msgUnsubArgs   = "unsubscribe_account takes {account}: account must be a string"
)

// Status codes of refused account events in acks, as the REST API and /ws
// number them.
const (
	codeBadRequest   = 400
	codeUnauthorized = 401
	codeForbidden    = 403
	codeTooLarge     = 413
	codeInternal     = 500
)

// onAccount handles subscribe_account {account, key} (sub) and
// unsubscribe_account {account}. With an ack the answer is the ack's
// argument, {"subscribed"|"unsubscribed": account} or
// {"error": {"code", "message"}}; without one it is the event
// account_subscribed|account_unsubscribed {account} or error
// {message, account}, as subscribe answers.
func (ss *session) onAccount(sub bool, args []any, ack func(any)) {
	account, key, ok := accountArgs(args)
	if !ok {
		msg := msgAccountArgs
		if !sub {
			msg = msgUnsubArgs
		}
		ss.accountAnswer(sub, "", walletgate.Errorf(walletgate.EInvalid, "%s", msg), ack)
		return
	}
	var err error
	if sub {
		err = ss.conn.SubscribeAccount(account, key)
	} else {
		err = ss.conn.UnsubscribeAccount(account)
	}
	ss.accountAnswer(sub, account, err, ack)
}

func (ss *session) accountAnswer(sub bool, account string, err error, ack func(any)) {
	if err != nil {
		code, msg := accountError(err)
		if ack != nil {
			ack(map[string]any{"error": map[string]any{"code": code, "message": msg}})
			return
		}
		ss.p.emit("error", map[string]any{"message": msg, "account": account})
		return
	}
	key, event := "subscribed", evAccountSubscribed
	if !sub {
		key, event = "unsubscribed", evAccountUnsubscribed
	}
	if ack != nil {
		ack(map[string]any{key: account})
		return
	}
	ss.p.emit(event, map[string]any{"account": account})
}

// accountArgs reads {account, key} from an event's first argument; key may
// be absent (unsubscribe has none), account may be empty (the hub says it
// is required). Anything but strings is refused.
func accountArgs(args []any) (account, key string, ok bool) {
	m, ok := firstObject(args)
	if !ok {
		return "", "", false
	}
	if v, present := m["account"]; present && v != nil {
		if account, ok = v.(string); !ok {
			return "", "", false
		}
	}
	if v, present := m["key"]; present && v != nil {
		if key, ok = v.(string); !ok {
			return "", "", false
		}
	}
	return account, key, true
}

// accountError is the code and client-safe text of a refused account
// event.
func accountError(err error) (int, string) {
	msg := walletgate.ErrorMessage(err)
	switch walletgate.ErrorCode(err) {
	case walletgate.EInvalid:
		return codeBadRequest, msg
	case walletgate.EUnauthorized:
		return codeUnauthorized, msg
	case walletgate.EForbidden:
		return codeForbidden, msg
	case walletgate.ETooLarge:
		return codeTooLarge, msg
	}
	return codeInternal, "internal error"
}
