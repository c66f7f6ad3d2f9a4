package chain

import "testing"

func BenchmarkDecode(b *testing.B) {
	p := mustLookup(b, "bitweb", "mainnet")
	for _, bc := range []struct{ name, addr string }{
		{"p2pkh", "ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLQ"},
		{"p2sh_legacy", "tfHCQuoFxVaoMBsJV66TXNv8uLtrEmtMTv"},
		{"p2wpkh", "web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse"},
		{"p2tr", "web1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqnxywl3"},
		{"bad_checksum", "web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcsf"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = p.Decode(bc.addr)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	p := mustLookup(b, "bitweb", "mainnet")
	for typ, script := range standardScripts(0x5a) {
		b.Run(typ.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Encode(script); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkScriptHash(b *testing.B) {
	script := standardScripts(0x5a)[P2TR]
	b.ReportAllocs()
	for b.Loop() {
		_ = ScriptHash(script)
	}
}

// BenchmarkAddressToScriptHash is the whole per-request path of the REST
// layer: address in, Electrum scripthash out.
func BenchmarkAddressToScriptHash(b *testing.B) {
	p := mustLookup(b, "bitweb", "mainnet")
	b.ReportAllocs()
	for b.Loop() {
		a, err := p.Decode("web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse")
		if err != nil {
			b.Fatal(err)
		}
		_ = a.ScriptHash()
	}
}
