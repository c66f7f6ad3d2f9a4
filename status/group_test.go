package status

import (
	"slices"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

func TestGroupDeposits(t *testing.T) {
	credited := time.Unix(1, 0)
	dep := func(id, ntx, amount int64, conf int64, isCredited bool) walletgate.Deposit {
		d := walletgate.Deposit{ID: id, NetworkTxID: ntx, TxID: string(rune('a' + ntx)), Amount: amount, Confirmations: conf}
		if isCredited {
			d.CreditedAt = &credited
		}
		return d
	}
	cases := []struct {
		name     string
		ds       []walletgate.Deposit
		next     int64
		want     []ntxRow
		wantNext int64
	}{
		{name: "empty", want: nil},
		{
			name: "last page keeps every group",
			ds:   []walletgate.Deposit{dep(1, 1, 10, 3, true), dep(2, 1, 5, 3, true), dep(3, 2, 7, 1, false)},
			want: []ntxRow{{ID: 1, TxID: "b", Confirmations: 3, Outputs: 2, Amount: 15, Credited: 2}, {ID: 2, TxID: "c", Confirmations: 1, Outputs: 1, Amount: 7}},
		},
		{
			name: "full page leaves its last group for the next",
			ds:   []walletgate.Deposit{dep(1, 1, 10, 3, true), dep(2, 2, 5, 1, false), dep(3, 2, 6, 1, false)},
			next: 3,
			want: []ntxRow{{ID: 1, TxID: "b", Confirmations: 3, Outputs: 1, Amount: 10, Credited: 1}}, wantNext: 1,
		},
		{
			name: "a single group filling the page stays",
			ds:   []walletgate.Deposit{dep(4, 2, 5, 1, false), dep(5, 2, 6, 2, true)},
			next: 5,
			want: []ntxRow{{ID: 2, TxID: "c", Confirmations: 2, Outputs: 2, Amount: 11, Credited: 1}}, wantNext: 5,
		},
		{
			name: "split groups join in first-seen order",
			ds:   []walletgate.Deposit{dep(1, 3, 1, 0, false), dep(2, 1, 2, 0, false), dep(3, 3, 4, 0, false)},
			want: []ntxRow{{ID: 3, TxID: "d", Outputs: 2, Amount: 5}, {ID: 1, TxID: "b", Outputs: 1, Amount: 2}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, next := groupDeposits(c.ds, c.next)
			if !slices.Equal(got, c.want) || next != c.wantNext {
				t.Fatalf("groupDeposits = %+v, %d; want %+v, %d", got, next, c.want, c.wantNext)
			}
		})
	}
}

func TestWhen(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(-90 * time.Second), "2026-01-02 03:02:35 UTC (1m30s ago)"},
		{now.Add(time.Hour).In(time.FixedZone("x", 3600)), "2026-01-02 04:04:05 UTC"}, // clock ahead: no "ago"
	}
	for _, c := range cases {
		if got := when(c.t, now); got != c.want {
			t.Errorf("when(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}
