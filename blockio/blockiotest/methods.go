package blockiotest

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/walletgate/walletgate"
)

// dispatch answers one API method: its data object, or a fail message.
func (s *Server) dispatch(method string, r *http.Request) (any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case "get_new_address":
		return s.newAddress(r.PostFormValue("label"))
	case "get_balance":
		return map[string]any{"network": s.network, "available_balance": walletgate.FormatSats(s.available), "pending_received_balance": walletgate.FormatSats(s.pending)}, ""
	case "get_address_balance":
		return s.addressBalance(r.PostFormValue("addresses"))
	case "get_transactions":
		return s.transactions(r.PostFormValue("type"), r.PostFormValue("before_tx"))
	case "create_notification":
		typ, url := r.PostFormValue("type"), r.PostFormValue("url")
		if !slices.Contains([]string{"account", "address", "new-blocks", "new-transactions"}, typ) {
			return nil, fmt.Sprintf("Invalid notification type: %q", typ)
		}
		if typ != "new-blocks" && url == "" {
			return nil, "Must specify url."
		}
		n := s.addNotificationLocked(typ, url)
		return map[string]any{"network": s.network, "notification_id": n.ID, "type": n.Type, "enabled": true, "url": n.URL}, ""
	case "get_notifications", "list_notifications":
		list := make([]map[string]any, 0, len(s.notifications))
		for _, n := range s.notifications {
			list = append(list, map[string]any{"notification_id": n.ID, "type": n.Type, "enabled": n.Enabled, "url": n.URL})
		}
		return map[string]any{"network": s.network, "notifications": list}, ""
	case "delete_notification":
		id := r.PostFormValue("notification_id")
		for i, n := range s.notifications {
			if n.ID == id {
				s.notifications = slices.Delete(s.notifications, i, i+1)
				return map[string]any{"network": s.network, "notification_id": id, "type": n.Type, "enabled": false, "url": n.URL}, ""
			}
		}
		return nil, fmt.Sprintf("Notification ID %q not found.", id)
	}
	return nil, fmt.Sprintf("Unknown method: %s", method)
}

func (s *Server) newAddress(label string) (any, string) {
	if label == "" {
		label = fmt.Sprintf("label%d", len(s.addresses)+1)
	}
	for _, a := range s.addresses {
		if a.Label == label {
			return nil, fmt.Sprintf("Label already exists: %s.", label)
		}
	}
	addr := fmt.Sprintf("%s-addr-%04d", s.network, len(s.addresses)+1)
	s.addresses = append(s.addresses, Address{Address: addr, Label: label})
	return map[string]any{"network": s.network, "user_id": 1, "address": addr, "label": label}, ""
}

func (s *Server) addressBalance(list string) (any, string) {
	if list == "" {
		return nil, "Must specify addresses or labels."
	}
	var balances []map[string]any
	for _, addr := range strings.Split(list, ",") {
		known := false
		for _, a := range s.addresses {
			if a.Address == addr {
				known = true
			}
		}
		if !known {
			return nil, fmt.Sprintf("Address %s does not belong to this account.", addr)
		}
		var avail int64
		for _, tx := range s.txs {
			avail += tx.Received[addr]
		}
		balances = append(balances, map[string]any{"address": addr, "available_balance": walletgate.FormatSats(avail), "pending_received_balance": "0.00000000"})
	}
	return map[string]any{"network": s.network, "balances": balances}, ""
}

// transactions answers one page, newest first, of type received or sent.
func (s *Server) transactions(typ, before string) (any, string) {
	if typ != "received" && typ != "sent" {
		return nil, fmt.Sprintf("Invalid type: %q. Must be 'sent' or 'received'.", typ)
	}
	var list []Tx // newest first
	for i := len(s.txs) - 1; i >= 0; i-- {
		tx := s.txs[i]
		if (typ == "received" && len(tx.Received) > 0) || (typ == "sent" && len(tx.Sent) > 0) {
			list = append(list, tx)
		}
	}
	if before != "" && !s.ignoreBeforeTx {
		i := slices.IndexFunc(list, func(t Tx) bool { return t.TxID == before })
		if i < 0 {
			return nil, fmt.Sprintf("Transaction ID %s not found.", before)
		}
		list = list[i+1:]
	}
	list = list[:min(len(list), s.pageSize)]
	txs := make([]map[string]any, 0, len(list))
	for _, tx := range list {
		entry := map[string]any{"txid": tx.TxID, "from_green_address": false, "time": 1700000000, "confirmations": tx.Confirmations}
		if typ == "received" {
			entry["amounts_received"] = amounts(tx.Received)
			entry["senders"] = []string{"sender-address"}
		} else {
			entry["amounts_sent"] = amounts(tx.Sent)
			entry["senders"] = []string{"our-address"}
			var total int64
			for _, v := range tx.Sent {
				total += v
			}
			entry["total_amount_sent"] = walletgate.FormatSats(total)
		}
		txs = append(txs, entry)
	}
	return map[string]any{"network": s.network, "txs": txs}, ""
}

func amounts(m map[string]int64) []map[string]string {
	addrs := make([]string, 0, len(m))
	for a := range m {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	out := make([]map[string]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, map[string]string{"recipient": a, "amount": walletgate.FormatSats(m[a])})
	}
	return out
}
