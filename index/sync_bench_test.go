package index

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/rpc"
)

// benchKey is a P2WPKH key the benchmark signs with directly, so it can
// build many transactions and send them in one sendrawtransaction batch.
type benchKey struct {
	priv   *btcec.PrivateKey
	script []byte
}

type benchCoin struct {
	op    wire.OutPoint
	value int64
	key   *benchKey
}

// buildBigChain mines blocks of up to perBlock transactions until about
// wantTxs have been confirmed. Each transaction spends one confirmed coin
// into two coins for random keys, so the coin pool doubles per block until
// it fills a block.
func buildBigChain(tb testing.TB, node *regtest.Node, wantTxs, perBlock int) int {
	tb.Helper()
	ctx := context.Background()
	client, err := rpc.New(rpc.Config{URL: node.RPCURL(), Timeout: 2 * time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	defer client.Close()
	keys := make([]*benchKey, 50)
	for i := range keys {
		priv, err := btcec.NewPrivateKey()
		if err != nil {
			tb.Fatal(err)
		}
		keys[i] = &benchKey{priv: priv, script: append([]byte{0x00, 0x14}, address.Hash160(priv.PubKey().SerializeCompressed())...)}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var outs []regtest.Output
	for i := range 500 {
		outs = append(outs, regtest.Output{Script: keys[i%len(keys)].script, Value: 4_000_000})
	}
	sent, err := node.Pay(ctx, outs...)
	if err != nil {
		tb.Fatal(err)
	}
	var pool []benchCoin
	for i := range outs {
		var h chainhash.Hash
		_ = chainhash.Decode(&h, sent.TxID)
		pool = append(pool, benchCoin{op: wire.OutPoint{Hash: h, Index: uint32(i)}, value: 4_000_000, key: keys[i%len(keys)]})
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		tb.Fatal(err)
	}
	total := 0
	for total < wantTxs {
		n := min(perBlock, len(pool), wantTxs-total)
		spend := pool[:n]
		pool = pool[n:]
		reqs := make([]rpc.Request, 0, n)
		for _, c := range spend {
			tx := wire.NewMsgTx(2)
			tx.AddTxIn(wire.NewTxIn(&c.op, nil, nil))
			half := (c.value - 300) / 2
			k1, k2 := keys[rng.IntN(len(keys))], keys[rng.IntN(len(keys))]
			tx.AddTxOut(wire.NewTxOut(half, k1.script))
			tx.AddTxOut(wire.NewTxOut(c.value-300-half, k2.script))
			hashes := txscript.NewTxSigHashes(tx, txscript.NewCannedPrevOutputFetcher(c.key.script, c.value))
			wit, err := txscript.WitnessSignature(tx, hashes, 0, c.value, c.key.script, txscript.SigHashAll, c.key.priv, true)
			if err != nil {
				tb.Fatal(err)
			}
			tx.TxIn[0].Witness = wit
			var buf bytes.Buffer
			_ = tx.Serialize(&buf)
			reqs = append(reqs, rpc.Request{Method: "sendrawtransaction", Params: []any{hex.EncodeToString(buf.Bytes())}})
			id := tx.TxHash()
			pool = append(pool, benchCoin{op: wire.OutPoint{Hash: id, Index: 0}, value: half, key: k1},
				benchCoin{op: wire.OutPoint{Hash: id, Index: 1}, value: c.value - 300 - half, key: k2})
		}
		res, err := client.Batch(ctx, reqs)
		if err != nil {
			tb.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				tb.Fatalf("tx %d of block: %v", i, r.Err)
			}
		}
		if _, err := node.Generate(ctx, 1); err != nil {
			tb.Fatal(err)
		}
		total += n
	}
	return total
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkInitialSync indexes a generated regtest chain from scratch:
// WALLETGATE_BENCH_BLOCKS empty blocks (default 1,500) then blocks of
// WALLETGATE_BENCH_PER_BLOCK (default 1,000) transactions up to
// WALLETGATE_BENCH_TXS (default 20,000). Chain building is outside the
// timer. Reports blocks/s, txs/s, peak heap and the store's size.
func BenchmarkInitialSync(b *testing.B) {
	node := regtest.Start(b, regtest.WithBlocks(envInt("WALLETGATE_BENCH_BLOCKS", 1500)))
	t0 := time.Now()
	txs := buildBigChain(b, node, envInt("WALLETGATE_BENCH_TXS", 20_000), envInt("WALLETGATE_BENCH_PER_BLOCK", 1000))
	height, _ := node.Height(context.Background())
	b.Logf("chain: %d blocks, %d spend txs (+ coinbases), built in %s", height+1, txs, time.Since(t0).Round(time.Second))
	client := testClient(b, node)
	b.ResetTimer()
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "index.db")
		x, err := Open(client, Options{Path: path, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		stop := make(chan struct{})
		peak := make(chan uint64, 1)
		go func() { // sampler, stopped below before the next iteration
			var m runtime.MemStats
			var top uint64
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&m)
				top = max(top, m.HeapInuse)
				select {
				case <-stop:
					peak <- top
					return
				case <-t.C:
				}
			}
		}()
		start := time.Now()
		if err := x.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		close(stop)
		p := <-peak
		x.Close()
		st, _ := os.Stat(path)
		total := int(height+1) + txs // coinbases count as transactions
		b.ReportMetric(float64(height+1)/took.Seconds(), "blocks/s")
		b.ReportMetric(float64(total)/took.Seconds(), "txs/s")
		b.ReportMetric(float64(p)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(st.Size())/(1<<20), "store-MiB")
	}
}
