package regtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/wire/v2"
)

// Header returns the best chain's block header at height, parsed and as
// its 80 raw bytes, checked to hash to the block hash the node names.
func (n *Node) Header(ctx context.Context, height int64) (wire.BlockHeader, []byte, error) {
	var bh wire.BlockHeader
	hash, err := n.BlockHash(ctx, height)
	if err != nil {
		return bh, nil, err
	}
	var hexHdr string
	if err := n.CallInto(ctx, &hexHdr, "getblockheader", hash, false); err != nil {
		return bh, nil, fmt.Errorf("regtest: header %s: %w", hash, err)
	}
	raw, err := hex.DecodeString(hexHdr)
	if err != nil {
		return bh, nil, fmt.Errorf("regtest: header %s: hex: %w", hash, err)
	}
	if err := bh.Deserialize(bytes.NewReader(raw)); err != nil {
		return bh, nil, fmt.Errorf("regtest: header %s: %w", hash, err)
	}
	if got := bh.BlockHash(); got.String() != hash {
		return bh, nil, fmt.Errorf("regtest: header at %d hashes to %s, node says %s", height, got, hash)
	}
	return bh, raw, nil
}
