package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/walletgate/walletgate"
)

// LegacyDatabase is a database made by the migration code that came before
// schema_version (which kept schema_migrations and ran every migration in
// one transaction), holding migrations 0001–0003, for RunAdoptLegacy.
type LegacyDatabase struct {
	// Exec runs one statement with $1… arguments, failing t on error.
	Exec func(t *testing.T, query string, args ...any)
	// QueryInt runs a query answering one integer.
	QueryInt func(t *testing.T, query string, args ...any) (int64, error)
	// Open opens the store on the database, which adopts it.
	Open func(t *testing.T) LedgerStore
}

// legacyTables are the tables RunAdoptLegacy fills and counts.
var legacyTables = []string{"accounts", "msg_box", "deposit_watches", "deposit_accounts", "network_txs", "deposits",
	"outbox_handlers", "outbox", "broadcasts", "outgoing_txs"}

// legacyPayload is an outbox payload as the old code queued it.
const legacyPayload = `{"transaction":1,"network_transaction":1,"account":"alice","txid":"` + legacyTxID +
	`","address":"legacy-addr","amount":"0.00021000","credited":true,"confirmations":3,"coin_name":"lgc","transaction_type":"deposit","event_id":"lgc:` +
	legacyTxID + `:legacy-addr:3"}`

const legacyTxID = "1111111111111111111111111111111111111111111111111111111111111111"

// RunAdoptLegacy fills a legacy database through SQL as the old code left
// it (a credited deposit with an undelivered event, a closed broadcast and
// its fee, a peer-channel account), opens the store on it and checks that
// the store adopts it without losing a row and carries on from where it
// was: no second credit, the stored payload delivered as it was, ids
// continuing.
func RunAdoptLegacy(t *testing.T, db LegacyDatabase) {
	const coin, now = "lgc", int64(1767323045000000) // t0 in unix microseconds
	bcastTx := fakeTxID(77)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO accounts (public_key_bytes, api_key) VALUES ($1, $2)`, []any{[]byte{2, 1, 2, 3}, "legacy-api-key"}},
		{`INSERT INTO msg_box (account_id, externalid, publicread, publicwrite, locked, sequenced, autoprune) VALUES (1, 'legacy-channel', true, true, false, false, true)`, nil},
		{`INSERT INTO deposit_watches (coin, address, account, external_id, created_at) VALUES ($1, 'legacy-addr', 'alice', 'ext-1', $2)`, []any{coin, now}},
		{`INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at) VALUES ($1, 'deposit', $2, 3, $3, $3)`, []any{coin, legacyTxID, now}},
		{`INSERT INTO deposits (ntx_id, coin, txid, address, account, amount, confirmations, credited_at, created_at, updated_at)
			VALUES (1, $1, $2, 'legacy-addr', 'alice', 21000, 3, $3, $3, $3)`, []any{coin, legacyTxID, now}},
		{`INSERT INTO deposit_accounts (coin, account, balance) VALUES ($1, 'alice', 19000), ($1, $2, -500)`, []any{coin, walletgate.NetworkFeesAccount}},
		{`INSERT INTO outbox_handlers (name, created_at) VALUES ('legacy-handler', $1)`, []any{now}},
		{`INSERT INTO outbox (handler, event_id, coin, address, payload, next_attempt, created_at) VALUES ('legacy-handler', $1, $2, 'legacy-addr', $3, 0, $4)`,
			[]any{"lgc:" + legacyTxID + ":legacy-addr:3", coin, []byte(legacyPayload), now}},
		{`INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at) VALUES ($1, 'broadcast', $2, -1, $3, $3)`, []any{coin, bcastTx, now}},
		{`INSERT INTO broadcasts (coin, txid, fee, ntx_id, created_at, opened_at, closed_at) VALUES ($1, $2, 500, 2, $3, $3, $3)`, []any{coin, bcastTx, now}},
		{`INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, broadcast_id, created_at, processed_at, updated_at)
			VALUES ($1, 'send', 'alice', 'far-away', 2000, 'legacy-send', 'broadcasted', 1, $2, $2, $2),
			       ($1, 'network_fee', $3, '', 500, '', 'broadcasted', 1, $2, $2, $2)`, []any{coin, now, walletgate.NetworkFeesAccount}},
	} {
		db.Exec(t, q.sql, q.args...)
	}
	counts := func() map[string]int64 {
		out := map[string]int64{}
		for _, tbl := range legacyTables {
			n, err := db.QueryInt(t, `SELECT count(*) FROM `+tbl)
			if err != nil {
				t.Fatalf("count %s: %v", tbl, err)
			}
			out[tbl] = n
		}
		return out
	}
	before := counts()

	s := db.Open(t)
	if after := counts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("rows after adoption %v, before %v", after, before)
	}
	if n, err := db.QueryInt(t, `SELECT count(*) FROM schema_version WHERE version IN (1, 2, 3)`); err != nil || n != 3 {
		t.Fatalf("schema_version holds %d of versions 1–3 (%v); want all three adopted", n, err)
	}
	if _, err := db.QueryInt(t, `SELECT count(*) FROM schema_migrations`); err == nil {
		t.Fatal("schema_migrations survived the adoption; an older binary would run on the newer schema")
	}

	ctx := ctxT(t)
	if b := balance(t, s, coin, "alice"); b != 19000 {
		t.Fatalf("alice's balance after adoption %d, want 19000", b)
	}
	ws, _, err := s.ListWatches(ctx, coin, "alice", walletgate.Page{Limit: 10})
	if err != nil || len(ws) != 1 || ws[0].Address != "legacy-addr" || ws[0].ExternalID != "ext-1" {
		t.Fatalf("watches after adoption %+v, %v", ws, err)
	}
	items := claim(t, s, "legacy-handler", 10, t0)
	if len(items) != 1 || !bytes.Equal(items[0].Payload, []byte(legacyPayload)) || items[0].Event.Account != "alice" {
		t.Fatalf("legacy outbox row claimed as %+v; want its payload byte for byte", items)
	}
	ack(t, s, "legacy-handler", items...)
	send, err := s.OutgoingTx(ctx, coin, "legacy-send")
	if err != nil || send.State != walletgate.SendBroadcasted || send.TxID != bcastTx || send.Amount != 2000 {
		t.Fatalf("legacy send %+v, %v", send, err)
	}
	b, err := s.Broadcast(ctx, coin, send.BroadcastID)
	if err != nil || b.State() != walletgate.BroadcastClosed || b.Fee != 500 || b.NetworkTxID != 2 {
		t.Fatalf("legacy broadcast %+v, %v", b, err)
	}

	// The store carries on: the next confirmation is an event on the same
	// deposit, already credited, so the balance does not move.
	ev := apply(t, s, coin, walletgate.WalletTx{TxID: legacyTxID, Confirmations: 4, Details: []walletgate.WalletTxDetail{recv("legacy-addr", 21000)}})
	if len(ev) != 1 || ev[0].TransactionID != 1 || ev[0].NetworkTxID != 1 || !ev[0].Credited || balance(t, s, coin, "alice") != 19000 {
		t.Fatalf("after adoption, confirmation 4 gave %+v and balance %d; want one credited event on deposit 1 and no second credit", ev, balance(t, s, coin, "alice"))
	}
	bev, err := s.ApplyBroadcastTx(ctx, coin, walletgate.WalletTx{TxID: bcastTx, Confirmations: 1}, 15, t0)
	if err != nil || len(bev) != 1 || bev[0].TransactionID != send.ID || bev[0].Account != "alice" {
		t.Fatalf("legacy broadcast's first confirmation gave %+v, %v", bev, err)
	}
	next := queue(t, s, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "far-away", Amount: 1000, ExternalID: "after-adoption"})
	if next.ID <= send.ID || balance(t, s, coin, "alice") != 18000 {
		t.Fatalf("send after adoption %+v, balance %d; want a new id after %d and 18000 left", next, balance(t, s, coin, "alice"), send.ID)
	}
}
