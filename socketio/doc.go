// Package socketio serves the Bitweb wallet API server's Socket.IO push at
// /socket.io/ (spec/bitweb-api.md §4): Socket.IO protocol v5 over
// Engine.IO v4, websocket and polling with the upgrade between them.
//
// One implementation serves every transport (engine.go): an Engine.IO
// session starts on HTTP long-polling (polling.go) or on a websocket
// opened at once (transport=websocket, no sid: how the Bitweb wallet
// connects; websocket.go), and a polling session may move to a websocket
// (upgrade.go); the Socket.IO layer (socket.go) is the same on all of
// them. Websockets are coder/websocket's. A websocket client costs one
// goroutine (its reader; a writer runs only while packets are queued) and
// a polling client only the request it holds open; one keepalive loop
// pings them all (BENCH.md). The official socket.io-client is tested on
// all three transport modes.
//
// The wire is the reference server's (Node engine.io 6 / socket.io 4, and
// zishang520/socket.io, which this package replaced): the open packet's
// fields, the JSON errors of a bad sid, transport or handshake (HTTP 400),
// CORS "*" with preflight, payloads joined by the record separator and
// compressed from Config.CompressionThreshold, 413 for a POST over
// Config.MaxPayload, a second concurrent GET or POST closing the session,
// and the probe, noop and upgrade packets of the upgrade. Binary messages
// and Socket.IO binary events are ignored: no event of this API carries
// binary data.
//
// Events, as the original:
//
//	C→S subscribe {address}       one address per socket; a new one replaces the old
//	S→C subscribed {address}      the stripped input
//	S→C error {message}           the REST validation texts; "rate limited" for a
//	                              subscribe within Config.SubscribeInterval of the
//	                              previous one (invalid attempts count)
//	S→C balance_changed {balance, confirmed, unconfirmed, pending_out, utxos, height}
//	                              first to the subscriber, then on every change
//	S→C block {height}            to every socket
//
// A subscribe payload that is not a JSON object is ignored. Differences from
// the original, all invisible to its client:
//   - re-subscribing the same address does not leak a reference, and the
//     backend subscription is dropped when the last socket leaves;
//   - change pushes carry the last known tip height, never 0;
//   - a backend failure while subscribing answers error {message} instead of
//     nothing;
//   - a client that falls hub.Config.QueueSize pushes behind is sent
//     error {message} with the reason and disconnected (the initial
//     balance_changed pushes of a subscribe are paced by the hub instead,
//     hub.Config.RefreshWindow, so a list-form subscribe of the maximum
//     never disconnects a client that reads);
//   - Server.Shutdown sends every client away when the process stops: a
//     websocket gets the close 1001 (going away), a polling client's
//     pending GET is answered at once with the Engine.IO close packet, and
//     new sessions get HTTP 503. socket.io-client reports "transport
//     close" and reconnects.
//
// Extensions: subscribe {addresses:[...]} (at most Config.MaxAddresses) adds
// addresses without replacing anything; each is confirmed with
// subscribed {address} (or refused with error {message, address}) and its
// balance_changed pushes carry an extra "address" key first.
// unsubscribe {address} or {addresses:[...]} drops subscriptions of either
// form and is answered with unsubscribed {address} per address.
//
// Account events (an extension; hub.Config.AccountKey enables them):
//
//	C→S subscribe_account {account, key}   txupdate events of account (the
//	                                        deposit API's label, as given);
//	                                        key is checked by AccountKey
//	C→S unsubscribe_account {account}
//	S→C account_subscribed {account}        or account_unsubscribed {account}
//	S→C error {message, account}            a refusal
//	S→C txupdate {transaction, network_transaction, account, txid, address,
//	              amount, credited, confirmations, coin_name,
//	              transaction_type, event_id}   spec/cryptoassets.md §8
//
// A client that asks for an acknowledgement gets the answer as the ack's
// argument instead of an event: {"subscribed": account},
// {"unsubscribed": account} or {"error": {"code", "message"}}, the codes
// being /ws's: 400 bad arguments, a missing or overlong account; 401 wrong
// key (also once the connection tried hub.Config.MaxKeyFailures wrong
// keys); 403 account subscriptions are not enabled; 413 more than
// hub.Config.MaxAccountsPerConn accounts. Delivery is best effort: an event
// reaches the sockets subscribed when it is published, once. Applications
// that must see every event use the HTTP, Redis or script handlers.
//
// Engine.IO v3 clients (socket.io-client 2.x) are refused with HTTP 400 as
// Flask-SocketIO does.
package socketio
