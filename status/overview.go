package status

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/walletgate/walletgate"
)

// coinStatus is one row of /: what the coin's Source said.
type coinStatus struct {
	Coin          string
	AliveErr      string // "" when alive
	Balance       int64
	BalanceErr    string // "" when Balance is known
	LastNotify    time.Time
	LastBroadcast time.Time
}

// hotBalance asks src for its hot balance within the call timeout; the
// error text is what the page shows instead of a balance.
func (s *Server) hotBalance(ctx context.Context, src Source) (int64, string) {
	b, err := bounded(ctx, s.cfg.CallTimeout, src.Name()+" hot balance", src.HotBalance)
	if err != nil {
		return 0, err.Error()
	}
	return b, ""
}

// alive asks src whether it is alive within the call timeout.
func (s *Server) alive(ctx context.Context, src Source) string {
	_, err := bounded(ctx, s.cfg.CallTimeout, src.Name()+" alive check", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, src.Alive(ctx)
	})
	if err != nil {
		return err.Error()
	}
	return ""
}

// overview is GET /: every coin's Alive and HotBalance asked at once, so
// the page takes about one CallTimeout at worst.
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	rows := make([]coinStatus, len(s.sources))
	var wg sync.WaitGroup
	for i, src := range s.sources {
		rows[i] = coinStatus{Coin: src.Name(), LastNotify: src.LastWalletNotify(), LastBroadcast: src.LastBroadcast()}
		wg.Go(func() { rows[i].AliveErr = s.alive(r.Context(), src) })
		wg.Go(func() { rows[i].Balance, rows[i].BalanceErr = s.hotBalance(r.Context(), src) })
	}
	wg.Wait()
	s.render(w, r, "overview", pageData{Title: "Status", Body: rows})
}

// walletRow is one row of /wallets.
type walletRow struct {
	Coin       string
	Hot        int64
	HotErr     string
	Credited   int64 // sum of credited deposits
	Pending    int64 // sum of deposits not credited yet
	Deposits   int   // deposits read
	Partial    bool  // the scan stopped at ScanLimit
	ScanErr    string
	ScanLimit  int
	Difference int64 // Hot - Credited, when both are known
}

// wallets is GET /wallets: per coin, the hot wallet's balance beside the
// deposits the store has credited, both asked at once per coin.
func (s *Server) wallets(w http.ResponseWriter, r *http.Request) {
	rows := make([]walletRow, len(s.sources))
	var wg sync.WaitGroup
	for i, src := range s.sources {
		rows[i] = walletRow{Coin: src.Name(), ScanLimit: s.cfg.ScanLimit}
		wg.Go(func() { rows[i].Hot, rows[i].HotErr = s.hotBalance(r.Context(), src) })
		wg.Go(func() {
			if err := s.sumDeposits(r.Context(), &rows[i]); err != nil {
				s.cfg.Logger.Error("status: deposit scan failed", "coin", rows[i].Coin, "err", err)
				rows[i].ScanErr = walletgate.ErrorMessage(err)
			}
		})
	}
	wg.Wait()
	notice := ""
	for i := range rows {
		if rows[i].Partial {
			notice = "Some totals are partial: the store has more deposits than the scan limit lets this page read."
		}
		rows[i].Difference = rows[i].Hot - rows[i].Credited
	}
	s.render(w, r, "wallets", pageData{Title: "Wallets", Notice: notice, Body: rows})
}

// sumDeposits totals row.Coin's deposits, reading at most ScanLimit.
func (s *Server) sumDeposits(ctx context.Context, row *walletRow) error {
	p := walletgate.Page{Limit: s.cfg.ScanBatch}
	for {
		ds, next, err := s.store.ListDeposits(ctx, walletgate.DepositFilter{Coin: row.Coin}, p)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if row.Deposits >= s.cfg.ScanLimit {
				row.Partial = true
				return nil
			}
			row.Deposits++
			if d.CreditedAt != nil {
				row.Credited += d.Amount
			} else {
				row.Pending += d.Amount
			}
		}
		if next == 0 {
			return nil
		}
		p.Cursor = next
	}
}
