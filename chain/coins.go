package chain

// coinTable builds the registry afresh on every call, so no caller can change
// what another one sees. Sources: each coin's chainparams.cpp (Bitweb: spec
// bitweb-api.md §8, the 2026 "restart" chain); RPC ports are the reference
// node's defaults (0 where the source does not say).
func coinTable() []Params {
	const (
		btcMainGenesis    = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
		btcTestGenesis    = "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943"
		btcTest4Genesis   = "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043"
		btcSignetGenesis  = "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6"
		btcRegtestGenesis = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
	)
	return []Params{
		{
			Coin: "bitweb", Network: "mainnet", Name: "Bitweb",
			PubKeyHashAddrID: 0x21, ScriptHashAddrID: 0x1e, PrivateKeyID: 0x80,
			Bech32HRP: "web", SegWit: true, Taproot: true,
			// 0x42 was P2PKH on the old chain's testnet; 0x80 is the WIF byte,
			// accepted as P2SH by mistake. The original API server took both.
			LegacyVersions:    []LegacyVersion{{Version: 0x42, Type: P2PKH}, {Version: 0x80, Type: P2SH}},
			AcceptUpperBech32: true,
			GenesisHash:       "111692c1b9b390c407ab74d7f924d4fa0f7589974ab61af96392feca11f209e6",
			MessageStart:      [4]byte{0xfe, 0xae, 0xd5, 0xca},
			DefaultPort:       26333, DefaultRPCPort: 26332, CoinbaseMaturity: 100,
		},
		{
			Coin: "bitweb", Network: "testnet", Name: "Bitweb testnet",
			PubKeyHashAddrID: 111, ScriptHashAddrID: 196, PrivateKeyID: 239,
			Bech32HRP: "tb", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			MessageStart: [4]byte{0x1b, 0xcc, 0x08, 0x05},
			DefaultPort:  18333, CoinbaseMaturity: 100,
		},
		{
			Coin: "bitweb", Network: "regtest", Name: "Bitweb regtest",
			PubKeyHashAddrID: 111, ScriptHashAddrID: 196, PrivateKeyID: 239,
			Bech32HRP: "bcrt", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			MessageStart: [4]byte{0xea, 0xb1, 0xa5, 0xde},
			DefaultPort:  18444, CoinbaseMaturity: 100,
		},
		{
			Coin: "btc", Network: "mainnet", Name: "Bitcoin",
			PubKeyHashAddrID: 0x00, ScriptHashAddrID: 0x05, PrivateKeyID: 0x80,
			Bech32HRP: "bc", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			GenesisHash: btcMainGenesis, MessageStart: [4]byte{0xf9, 0xbe, 0xb4, 0xd9},
			DefaultPort: 8333, DefaultRPCPort: 8332, CoinbaseMaturity: 100,
		},
		{
			Coin: "btc", Network: "testnet", Name: "Bitcoin testnet3",
			PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0xc4, PrivateKeyID: 0xef,
			Bech32HRP: "tb", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			GenesisHash: btcTestGenesis, MessageStart: [4]byte{0x0b, 0x11, 0x09, 0x07},
			DefaultPort: 18333, DefaultRPCPort: 18332, CoinbaseMaturity: 100,
		},
		{
			Coin: "btc", Network: "testnet4", Name: "Bitcoin testnet4",
			PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0xc4, PrivateKeyID: 0xef,
			Bech32HRP: "tb", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			GenesisHash: btcTest4Genesis, MessageStart: [4]byte{0x1c, 0x16, 0x3f, 0x28},
			DefaultPort: 48333, DefaultRPCPort: 48332, CoinbaseMaturity: 100,
		},
		{
			Coin: "btc", Network: "signet", Name: "Bitcoin signet",
			PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0xc4, PrivateKeyID: 0xef,
			Bech32HRP: "tb", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			GenesisHash: btcSignetGenesis, MessageStart: [4]byte{0x0a, 0x03, 0xcf, 0x40},
			DefaultPort: 38333, DefaultRPCPort: 38332, CoinbaseMaturity: 100,
		},
		{
			Coin: "btc", Network: "regtest", Name: "Bitcoin regtest",
			PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0xc4, PrivateKeyID: 0xef,
			Bech32HRP: "bcrt", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			GenesisHash: btcRegtestGenesis, MessageStart: [4]byte{0xfa, 0xbf, 0xb5, 0xda},
			DefaultPort: 18444, DefaultRPCPort: 18443, CoinbaseMaturity: 100,
		},
		{
			Coin: "ltc", Network: "mainnet", Name: "Litecoin",
			PubKeyHashAddrID: 0x30, ScriptHashAddrID: 0x32, PrivateKeyID: 0xb0,
			Bech32HRP: "ltc", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			GenesisHash:  "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
			MessageStart: [4]byte{0xfb, 0xc0, 0xb6, 0xdb},
			DefaultPort:  9333, DefaultRPCPort: 9332, CoinbaseMaturity: 100,
		},
		{
			Coin: "ltc", Network: "testnet", Name: "Litecoin testnet",
			PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0x3a, PrivateKeyID: 0xef,
			Bech32HRP: "tltc", SegWit: true, Taproot: true, AcceptUpperBech32: true,
			GenesisHash:  "4966625a4b2851d9fdee139e56211a0d88575f59ed816ff5e6a63deb4e3e29a0",
			MessageStart: [4]byte{0xfd, 0xd2, 0xc8, 0xf1},
			DefaultPort:  19335, DefaultRPCPort: 19332, CoinbaseMaturity: 100,
		},
		{
			Coin: "doge", Network: "mainnet", Name: "Dogecoin",
			PubKeyHashAddrID: 0x1e, ScriptHashAddrID: 0x16, PrivateKeyID: 0x9e,
			GenesisHash:  "1a91e3dace36e2be3bf030a65679fe821aa1d6ef92e7c9902eb318182c355691",
			MessageStart: [4]byte{0xc0, 0xc0, 0xc0, 0xc0},
			DefaultPort:  22556, DefaultRPCPort: 22555, CoinbaseMaturity: 240,
		},
		{
			Coin: "doge", Network: "testnet", Name: "Dogecoin testnet",
			PubKeyHashAddrID: 0x71, ScriptHashAddrID: 0xc4, PrivateKeyID: 0xf1,
			GenesisHash:  "bb0a78264637406b6360aad926284d544d7049f45189db5664f3c4d07350559e",
			MessageStart: [4]byte{0xfc, 0xc1, 0xb7, 0xdc},
			DefaultPort:  44556, DefaultRPCPort: 44555, CoinbaseMaturity: 240,
		},
		{
			Coin: "bsv", Network: "mainnet", Name: "Bitcoin SV",
			PubKeyHashAddrID: 0x00, ScriptHashAddrID: 0x05, PrivateKeyID: 0x80,
			GenesisHash: btcMainGenesis, MessageStart: [4]byte{0xe3, 0xe1, 0xf3, 0xe8},
			DefaultPort: 8333, DefaultRPCPort: 8332, CoinbaseMaturity: 100,
		},
		{
			Coin: "bsv", Network: "testnet", Name: "Bitcoin SV testnet",
			PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0xc4, PrivateKeyID: 0xef,
			GenesisHash: btcTestGenesis, MessageStart: [4]byte{0xf4, 0xe5, 0xf3, 0xf4},
			DefaultPort: 18333, DefaultRPCPort: 18332, CoinbaseMaturity: 100,
		},
		{
			Coin: "bsv", Network: "regtest", Name: "Bitcoin SV regtest",
			PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0xc4, PrivateKeyID: 0xef,
			GenesisHash: btcRegtestGenesis, MessageStart: [4]byte{0xda, 0xb5, 0xbf, 0xfa},
			DefaultPort: 18444, DefaultRPCPort: 18332, CoinbaseMaturity: 100,
		},
	}
}
