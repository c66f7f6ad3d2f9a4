package walletgate

import "context"

// Wallet backends (cryptoassets spec §2): the hot wallets deposits are
// read from (a node wallet, block.io, the null backend), the canonical
// transaction shape they all return, and the TxNotifier the walletnotify
// intakes hand their hints to. A wallet that can also pay is a Sender
// (withdrawal.go).

// TxNotifier receives txids and block hashes from every deposit intake
// (walletnotify over HTTP, a named pipe, Redis pub/sub, block.io webhooks
// and websockets). A notification is only a hint: the notifier re-fetches
// the transaction from the coin's WalletBackend and never trusts amounts or
// addresses that came with it.
type TxNotifier interface {
	// WalletNotify handles one txid of coin. It returns only after the
	// update is committed, so an intake can acknowledge (HTTP 200) safely.
	WalletNotify(ctx context.Context, coin, txid string) error
	// BlockNotify handles a new block of coin; it also returns only after
	// the resulting updates are committed.
	BlockNotify(ctx context.Context, coin, blockHash string) error
}

// Detail categories of a WalletTxDetail.
const (
	CategoryReceive = "receive"
	CategorySend    = "send"
)

// WalletTx is the canonical transaction data every wallet backend returns
// (cryptoassets spec §2), with exact integer amounts.
type WalletTx struct {
	TxID          string
	Confirmations int64
	Details       []WalletTxDetail
	// OnlyReceive is set by backends that list only the outputs of a
	// transaction (block.io), so a missing send detail means nothing.
	OnlyReceive bool
}

// WalletTxDetail is one entry of a wallet transaction: a payment to or
// from one address.
type WalletTxDetail struct {
	Category string // CategoryReceive or CategorySend
	Address  string
	Amount   int64 // satoshis; negative for sends, as the node reports them
	Fee      int64 // satoshis; sends only, as reported (0 when unknown)
}

// WalletBackend is a coin backend with a hot wallet: a bitcoind-style node
// wallet, a hosted API such as block.io, or the null backend.
type WalletBackend interface {
	// CreateAddress makes a fresh receiving address labelled label.
	CreateAddress(ctx context.Context, label string) (string, error)
	// Transaction returns the wallet's view of txid.
	Transaction(ctx context.Context, txid string) (WalletTx, error)
	// ReceivedPage pages through received transactions on raw pages (the
	// original filtered each page first and stopped at a page without
	// receives). cursor "" starts; next "" means done.
	ReceivedPage(ctx context.Context, cursor string) (txs []WalletTx, next string, err error)
	// Balance is the hot wallet's total with at least minConf
	// confirmations, in satoshis.
	Balance(ctx context.Context, minConf int) (int64, error)
	// TracksConfirmations says whether confirmations must be polled
	// (true for node wallets and block.io, false for the null backend).
	TracksConfirmations() bool
}
