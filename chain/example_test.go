package chain_test

import (
	"errors"
	"fmt"

	"github.com/walletgate/walletgate/chain"
)

// The acceptance check of the issue: a Bitweb P2WPKH address to the
// scripthash ElectrumX is asked about.
func ExampleParams_Decode() {
	p, err := chain.Lookup("bitweb", "mainnet")
	if err != nil {
		panic(err)
	}
	a, err := p.Decode("web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Type)
	fmt.Printf("%x\n", a.Script)
	fmt.Println(a.ScriptHash())
	// Output:
	// p2wpkh
	// 001462e907b15cbf27d5425399ebf6f0fb50ebb88f18
	// 45dc3792fc06ee8c3b3e27ae390747f663ef0ac933aa29ade0ed0a390186bdfc
}

// A refused address: the message is what the client sees, the kind is for
// the caller.
func ExampleAddressError() {
	p, _ := chain.Lookup("bitweb", "mainnet")
	_, err := p.Decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
	var ae *chain.AddressError
	if errors.As(err, &ae) {
		fmt.Println(ae.Kind)
		fmt.Println(ae.Message)
	}
	// Output:
	// unknown_version
	// Unknown version byte 0x00: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'
}

func ExampleParams_Encode() {
	p, _ := chain.Lookup("btc", "regtest")
	addr, err := p.Encode([]byte{0x00, 0x14, 0x75, 0x1e, 0x76, 0xe8, 0x19, 0x91, 0x96, 0xd4, 0x54, 0x94, 0x1c, 0x45, 0xd1, 0xb3, 0xa3, 0x23, 0xf1, 0x43, 0x3b, 0xd6})
	fmt.Println(addr, err)
	// Output:
	// bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080 <nil>
}

func ExamplePyRepr() {
	fmt.Println(chain.PyRepr("web1q"))
	fmt.Println(chain.PyRepr("it's"))
	fmt.Println(chain.PyRepr("a\nb"))
	// Output:
	// 'web1q'
	// "it's"
	// 'a\nb'
}
