package status_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/walletgate/walletgate/status"
)

func TestPages(t *testing.T) {
	f := newFixture(t, status.Config{})
	cases := []struct {
		name   string
		method string
		target string
		status int
		want   []string
		not    []string
	}{
		{
			name: "overview", target: "/", status: http.StatusOK,
			want: []string{
				// btc: alive through the null wallet, its balance, the tracker's notify time.
				"<td>btc</td>", `<span class="ok">yes</span>`, `<td class="n">1.23456789</td>`,
				"2026-01-02 02:59:05 UTC (5m0s ago)",
				// ltc ignores its context: shown as a timeout, not waited for.
				"ltc alive check: no answer within 100ms", "ltc hot balance: no answer within 100ms",
				// doge is down: the error texts, escaped.
				"doge node &lt;unreachable&gt;: connection refused",
				"doge hot balance: dial tcp 127.0.0.1:8332: connection refused",
				"2026-01-02 03:02:35 UTC (1m30s ago)",
				// bch panics in HotBalance: an error, not a crash.
				"bch hot balance: panicked: balance exploded",
				"never",
			},
			not: []string{"<unreachable>"},
		},
		{
			name: "wallets", target: "/wallets", status: http.StatusOK,
			want: []string{
				"<td>btc</td>", `<td class="n">1.23456789</td>`, // hot
				`<td class="n">1.85000000</td>`, // credited: alice 1.75 + bob 0.1
				`<td class="n">0.00021000</td>`, // pending: evil
				`<td class="n">4</td>`,          // deposits
				`<td class="n">-0.61543211</td>`,
				"<td>ltc</td>", "ltc hot balance: no answer within 100ms", `<td class="n">2.00000000</td>`,
			},
		},
		{
			name: "accounts escape the label", target: "/accounts", status: http.StatusOK,
			want: []string{
				`<a href="/transactions?coin=btc&account=alice">alice</a>`, `<td class="n">1.75000000</td>`,
				evilEscaped, "/transactions?coin=btc&account=%3cscript%3ealert%28%22x%22%29%3c%2fscript%3e",
				`<a href="/addresses?coin=btc&account=alice">2</a>`,
				"bob", `<td class="n">0.10000000</td>`,
				`<strong>btc</strong>`, `<a href="/accounts?coin=ltc">ltc</a>`,
			},
			not: []string{"<script>", "carol"},
		},
		{
			name: "accounts of ltc", target: "/accounts?coin=ltc", status: http.StatusOK,
			want: []string{"carol", `<td class="n">2.00000000</td>`, "<strong>ltc</strong>"},
			not:  []string{"alice"},
		},
		{
			name: "addresses", target: "/addresses?coin=btc", status: http.StatusOK,
			want: []string{"bc1qalice1", "bc1qalice2", "bc1qbob", "bc1qevil", "user-1", evilEscaped, "2026-01-02 03:04:05 UTC (0s ago)"},
			not:  []string{"<script>", "ltc1qcarol", `rel="next"`},
		},
		{
			name: "addresses of one account", target: "/addresses?account=alice", status: http.StatusOK,
			want: []string{"bc1qalice1", "bc1qalice2", "Only account alice."},
			not:  []string{"bc1qbob", "bc1qevil"},
		},
		{
			name: "addresses filter escaped", target: "/addresses?account=%3Cscript%3E", status: http.StatusOK,
			want: []string{"Only account &lt;script&gt;.", "No addresses."},
			not:  []string{"<script>"},
		},
		{
			name: "transactions", target: "/transactions", status: http.StatusOK,
			want: []string{txA, txB, txC, "1.50000000", "0.25000000", "0.00021000", "0.10000000", evilEscaped, "<td>no</td>"},
			not:  []string{"<script>", txL},
		},
		{
			name: "transactions of one address", target: "/transactions?coin=btc&address=bc1qevil", status: http.StatusOK,
			want: []string{txB, "0.00021000", "Only address bc1qevil."},
			not:  []string{txA, txC},
		},
		{
			name: "network transactions", target: "/network_transactions", status: http.StatusOK,
			want: []string{
				"Open (below 15 confirmations, still polled)",
				"<td>deposit</td><td class=\"mono\">" + txA, "<td>deposit</td><td class=\"mono\">" + txB,
				txC, "2 of 2", "1.75000000", "0 of 1", "1 of 1",
			},
			not: []string{"<td>deposit</td><td class=\"mono\">" + txC, txL},
		},
		{name: "error on purpose", target: "/error", status: http.StatusInternalServerError, want: []string{"deliberate error"}},
		{name: "unknown path", target: "/nope", status: http.StatusNotFound, want: []string{"no status page at /nope"}},
		{name: "trailing slash", target: "/accounts/", status: http.StatusNotFound},
		{name: "post", method: http.MethodPost, target: "/", status: http.StatusMethodNotAllowed, want: []string{"method POST is not allowed"}},
		{name: "delete", method: http.MethodDelete, target: "/accounts", status: http.StatusMethodNotAllowed},
		{name: "post to unknown path", method: http.MethodPost, target: "/nope", status: http.StatusNotFound},
		{name: "head", method: http.MethodHead, target: "/accounts", status: http.StatusOK, not: []string{"alice"}},
		{name: "unknown coin", target: "/accounts?coin=%3Cx%3E", status: http.StatusBadRequest, want: []string{`unknown coin "<x>" (configured: btc, ltc, doge, bch)`}},
		{name: "negative cursor", target: "/transactions?cursor=-1", status: http.StatusBadRequest, want: []string{`cursor "-1" is not a non-negative integer`}},
		{name: "text cursor", target: "/addresses?cursor=abc", status: http.StatusBadRequest, want: []string{`cursor "abc" is not a non-negative integer`}},
		{name: "long filter", target: "/transactions?address=" + strings.Repeat("a", 300), status: http.StatusBadRequest, want: []string{"address filter is 300 bytes, over 256"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = http.MethodGet
			}
			res, body := get(t, f.srv, method, c.target)
			if res.StatusCode != c.status {
				t.Fatalf("%s %s: status %d, want %d; body:\n%s", method, c.target, res.StatusCode, c.status, body)
			}
			checkBody(t, body, c.want, c.not)
			ct := res.Header.Get("Content-Type")
			switch {
			case c.status == http.StatusOK && ct != "text/html; charset=utf-8":
				t.Errorf("Content-Type %q, want html", ct)
			case c.status != http.StatusOK && !strings.HasPrefix(ct, "text/plain"):
				t.Errorf("error Content-Type %q, want text/plain", ct)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff header")
			}
			if c.status == http.StatusMethodNotAllowed && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q, want GET, HEAD", res.Header.Get("Allow"))
			}
			if c.status == http.StatusOK && !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("CSP %q does not forbid outside assets", res.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

// TestPaging follows next links until the end and checks every row is
// seen once, in id order.
func TestPaging(t *testing.T) {
	f := newFixture(t, status.Config{PageLimit: 3})
	cases := []struct {
		name  string
		start string
		pages [][]string // what each page must show
		not   [][]string // what each page must not show
	}{
		{
			name: "addresses", start: "/addresses?coin=btc",
			pages: [][]string{{"bc1qalice1", "bc1qalice2", "bc1qevil"}, {"bc1qbob"}},
			not:   [][]string{{"bc1qbob"}, {"bc1qalice1", "bc1qevil"}},
		},
		{
			name: "transactions", start: "/transactions",
			pages: [][]string{{txA, txB}, {txC}},
			not:   [][]string{{txC}, {txA, txB}},
		},
		{
			// Deposits 1,2 (txA) and 3 (txB) fill the first page, but txB may
			// go on, so it waits for the second page with txC.
			name: "network transactions group whole", start: "/network_transactions?coin=btc",
			pages: [][]string{{"2 of 2", "1.75000000"}, {"0.00021000", "0.10000000"}},
			not:   [][]string{{"0.10000000", "0.00021000"}, {"1.75000000", "Open ("}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := c.start
			for i, want := range c.pages {
				res, body := get(t, f.srv, http.MethodGet, target)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("page %d %s: status %d: %s", i, target, res.StatusCode, body)
				}
				checkBody(t, body, want, c.not[i])
				next := nextLink(body)
				if i == len(c.pages)-1 {
					if next != "" {
						t.Fatalf("last page %s links to %s", target, next)
					}
					break
				}
				if next == "" {
					t.Fatalf("page %d %s has no next link:\n%s", i, target, body)
				}
				target = next
			}
		})
	}
}

func TestAccountPaging(t *testing.T) {
	f := newFixture(t, status.Config{PageLimit: 2})
	_, body := get(t, f.srv, http.MethodGet, "/accounts")
	checkBody(t, body, []string{"alice", evilEscaped, `rel="next"`}, []string{"bob"})
	next := nextLink(body)
	if next != "/accounts?coin=btc&cursor=3" {
		t.Fatalf("next link %q, want the first watch id of the last account shown", next)
	}
	_, body = get(t, f.srv, http.MethodGet, next)
	checkBody(t, body, []string{"bob", `<td class="n">0.10000000</td>`}, []string{"alice", evilEscaped, `rel="next"`})
}

// TestScanLimit: past ScanLimit the totals say they are partial.
func TestScanLimit(t *testing.T) {
	f := newFixture(t, status.Config{ScanLimit: 2, ScanBatch: 1})
	_, body := get(t, f.srv, http.MethodGet, "/wallets")
	checkBody(t, body, []string{"Some totals are partial", `<td class="n">2+</td>`, `<td class="n">1.75000000</td>`}, nil)
	_, body = get(t, f.srv, http.MethodGet, "/accounts")
	checkBody(t, body, []string{"Partial list: only the first 2 addresses", "alice"}, []string{"bob"})
}

// TestStoreFailure: a store error is a 500 naming what could not be read.
func TestStoreFailure(t *testing.T) {
	f := newFixture(t, status.Config{})
	f.store.Close()
	for _, target := range []string{"/accounts", "/addresses", "/transactions", "/network_transactions"} {
		res, body := get(t, f.srv, http.MethodGet, target)
		if res.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "could not read the ") || !strings.Contains(body, " btc ") {
			t.Errorf("%s on a closed store: %d %q", target, res.StatusCode, body)
		}
	}
	res, body := get(t, f.srv, http.MethodGet, "/wallets")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `<td class="bad" colspan="3">`) {
		t.Errorf("/wallets on a closed store: %d, want the page with the scan error:\n%s", res.StatusCode, body)
	}
}

// nextLink is the unescaped href of the page's next link, or "".
func nextLink(body string) string {
	i := strings.Index(body, `" rel="next"`)
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(body[:i], `href="`)
	return strings.ReplaceAll(body[j+len(`href="`):i], "&amp;", "&")
}
