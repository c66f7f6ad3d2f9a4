package status_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/walletgate/walletgate/status"
)

// FuzzListQuery sends arbitrary query strings to the listing pages: each
// answers 200 or a 400 in plain text, and nothing from the query or the
// store reaches the HTML unescaped.
func FuzzListQuery(f *testing.F) {
	for _, seed := range []string{
		"", "coin=btc", "coin=ltc&cursor=2", "cursor=-1", "cursor=abc", "cursor=99999999999999999999",
		"coin=%3Cscript%3E", "account=%3Cscript%3Ealert(1)%3C/script%3E", "address=bc1qevil&account=x",
		"coin=btc&coin=ltc", "cursor=1&cursor=2", "%zz", "account=" + strings.Repeat("a", 300),
	} {
		f.Add(uint8(0), seed)
	}
	fx := newFixture(f, status.Config{PageLimit: 2})
	paths := []string{"/accounts", "/addresses", "/transactions", "/network_transactions"}
	f.Fuzz(func(t *testing.T, page uint8, rawQuery string) {
		u := url.URL{Path: paths[int(page)%len(paths)], RawQuery: rawQuery}
		req := httptest.NewRequestWithContext(ctxT(t), http.MethodGet, "/", nil)
		req.URL, req.RequestURI = &u, u.RequestURI() // any bytes, even ones a request line cannot carry
		rec := httptest.NewRecorder()
		fx.srv.ServeHTTP(rec, req)
		res, body := rec.Result(), rec.Body.String()
		switch res.StatusCode {
		case http.StatusOK:
			if strings.Contains(strings.ToLower(body), "<script") {
				t.Fatalf("%s: unescaped script in the page:\n%s", u.RequestURI(), body)
			}
		case http.StatusBadRequest:
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("%s: 400 as %q, want text/plain", u.RequestURI(), ct)
			}
		default:
			t.Fatalf("%s: status %d: %s", u.RequestURI(), res.StatusCode, body)
		}
	})
}
