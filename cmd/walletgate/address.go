package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/config"
)

// addressInfo is what `walletgate address` prints.
type addressInfo struct {
	Address    string `json:"address"`
	Coin       string `json:"coin"`
	Network    string `json:"network"`
	Type       string `json:"type"`
	Script     string `json:"script"`
	ScriptHash string `json:"scripthash"`
}

func runAddress(ctx context.Context, g *globals, args []string) int {
	fs := subFlags(g, "address", "ADDRESS", "Decode ADDRESS and print its type, scriptPubKey (hex) and Electrum scripthash as JSON.\nThe coin's network and legacy_versions come from the config when the coin is configured there.")
	coin := fs.String("coin", "", "coin name: bitweb, btc, ltc, doge or bsv (default: the config's default coin, else bitweb)")
	network := fs.String("network", "", "network: mainnet, testnet, signet or regtest (default: the coin's network in the config, else mainnet)")
	if code, ok := parseSub(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(g.stderr, "walletgate address: want exactly one ADDRESS, got %d arguments\n", fs.NArg())
		return exitUsage
	}
	addr := fs.Arg(0)

	// The config is optional here: use it when it loads, so the same
	// network and legacy settings as the server apply.
	var configured *config.Coin
	if cfg, err := config.Load(config.LoadOptions{ConfigPath: g.configPath, DotenvPath: g.envFile}); err == nil {
		name := *coin
		if name == "" {
			name = cfg.DefaultCoin
		}
		if c, ok := cfg.Coin(name); ok {
			configured = &c
		}
		if *coin == "" {
			*coin = name
		}
	}
	if *coin == "" {
		*coin = "bitweb"
	}
	if *network == "" {
		*network = "mainnet"
		if configured != nil {
			*network = configured.Network
		}
	}
	params, err := chain.Lookup(*coin, *network)
	if err != nil {
		fmt.Fprintf(g.stderr, "walletgate address: %v\n", err)
		return exitUsage
	}
	if configured != nil && configured.Network == *network {
		if params, err = applyOverrides(params, *configured); err != nil {
			fmt.Fprintf(g.stderr, "walletgate address: %v\n", err)
			return exitUsage
		}
	}
	a, err := params.Decode(addr)
	if err != nil {
		fmt.Fprintf(g.stderr, "walletgate address: %v\n", err)
		return exitFailure
	}
	out, _ := json.Marshal(addressInfo{
		Address:    addr,
		Coin:       params.Coin,
		Network:    params.Network,
		Type:       a.Type.String(),
		Script:     hex.EncodeToString(a.Script),
		ScriptHash: chain.ScriptHash(a.Script),
	})
	fmt.Fprintf(g.stdout, "%s\n", out)
	return exitOK
}

// applyOverrides applies a configured coin's address settings to params.
func applyOverrides(p *chain.Params, c config.Coin) (*chain.Params, error) {
	o := chain.Overrides{AcceptUpperBech32: c.AcceptUpperBech32}
	if c.LegacyVersions == nil {
		return p.WithOverrides(o)
	}
	lv := []chain.LegacyVersion{}
	for _, v := range c.LegacyVersions.P2PKH {
		lv = append(lv, chain.LegacyVersion{Version: byte(v), Type: chain.P2PKH})
	}
	for _, v := range c.LegacyVersions.P2SH {
		lv = append(lv, chain.LegacyVersion{Version: byte(v), Type: chain.P2SH})
	}
	o.LegacyVersions = &lv
	return p.WithOverrides(o)
}
