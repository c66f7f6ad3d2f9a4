// Command mkwallet creates a btcwallet regtest wallet database without
// prompts. btcwallet's own --create reads passphrases from a terminal and
// its prompt-free --createtemp is simnet-only; this does what --createtemp
// does (wallet.Create on a fresh bdb database) for any network, with the
// passphrases given as flags.
//
//	mkwallet -appdata DIR -privpass P [-pubpass public] [-net regtest]
//
// The database lands where btcwallet looks for it: DIR/<net>/wallet.db.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcwallet/wallet"
	"github.com/btcsuite/btcwallet/walletdb"
	_ "github.com/btcsuite/btcwallet/walletdb/bdb"
)

func main() {
	appdata := flag.String("appdata", "", "btcwallet --appdata directory (required)")
	privPass := flag.String("privpass", "", "private passphrase, for walletpassphrase (required)")
	pubPass := flag.String("pubpass", wallet.InsecurePubPassphrase, "public passphrase (btcwallet's default when unset)")
	network := flag.String("net", "regtest", "network: regtest, simnet, testnet3 or mainnet")
	flag.Parse()
	if err := run(*appdata, *privPass, *pubPass, *network); err != nil {
		fmt.Fprintln(os.Stderr, "mkwallet:", err)
		os.Exit(1)
	}
}

func run(appdata, privPass, pubPass, network string) error {
	if appdata == "" || privPass == "" {
		return fmt.Errorf("-appdata and -privpass are required")
	}
	params := map[string]*chaincfg.Params{
		"regtest":  &chaincfg.RegressionNetParams,
		"simnet":   &chaincfg.SimNetParams,
		"testnet3": &chaincfg.TestNet3Params,
		"mainnet":  &chaincfg.MainNetParams,
	}[network]
	if params == nil {
		return fmt.Errorf("unknown network %q", network)
	}
	dir := filepath.Join(appdata, params.Name)
	if params.Name == "testnet3" {
		dir = filepath.Join(appdata, "testnet") // btcwallet's networkDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, wallet.WalletDBName)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists", path)
	}
	db, err := walletdb.Create("bdb", path, true, 60*time.Second, false)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer db.Close()
	if err := wallet.Create(db, []byte(pubPass), []byte(privPass), nil, params, time.Now()); err != nil {
		return fmt.Errorf("create wallet in %s: %w", path, err)
	}
	fmt.Println(path)
	return nil
}
