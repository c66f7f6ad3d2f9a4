package walletnotify

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func startHTTP(t *testing.T, cfg HTTPConfig, rec *recorder) string {
	t.Helper()
	cfg.Logger = quietLogger()
	h, err := NewHTTP(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := runIntake(t, func(ctx context.Context) error { return h.Serve(ctx, ln) })
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func multipartBody(t *testing.T, fields map[string]string) (string, io.Reader) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return w.FormDataContentType(), &b
}

func TestHTTPIntake(t *testing.T) {
	rec := newRecorder()
	rec.fail[hash(99)] = true
	base := startHTTP(t, HTTPConfig{Coin: "btc", Coins: []string{"ltc"}, MaxBodyBytes: 1024}, rec)
	mpType, mpBody := multipartBody(t, map[string]string{"txid": hash(3)})

	tests := []struct {
		name       string
		method     string
		path       string
		ctype      string
		body       io.Reader
		wantStatus int
		wantBody   string // substring of the reply
		wantNote   string // "" when the notifier must not be called
	}{
		{"urlencoded txid", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("txid=" + hash(1)), 200, "", "btc tx " + hash(1)},
		{"any path, upper-case hex", "POST", "/some/path", "application/x-www-form-urlencoded", strings.NewReader("txid=" + strings.ToUpper(hash(0xabc))), 200, "", "btc tx " + hash(0xabc)},
		{"no content type", "POST", "/", "", strings.NewReader("txid=" + hash(2)), 200, "", "btc tx " + hash(2)},
		{"multipart", "POST", "/", mpType, mpBody, 200, "", "btc tx " + hash(3)},
		{"blockhash", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("blockhash=" + hash(4)), 200, "", "btc block " + hash(4)},
		{"coin by path", "POST", "/ltc", "application/x-www-form-urlencoded", strings.NewReader("txid=" + hash(5)), 200, "", "ltc tx " + hash(5)},
		{"coin by field", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("coin=ltc&txid=" + hash(6)), 200, "", "ltc tx " + hash(6)},
		{"unknown coin field", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("coin=doge&txid=" + hash(7)), 400, `unknown coin "doge"`, ""},
		{"missing txid", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("foo=bar"), 400, "missing txid", ""},
		{"short txid", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("txid=abcd"), 400, "want 64 hex digits", ""},
		{"non-hex txid", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("txid=" + strings.Repeat("zz", 32)), 400, "is not hex", ""},
		{"both fields", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("txid=" + hash(8) + "&blockhash=" + hash(9)), 400, "both txid and blockhash", ""},
		{"body too large", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("txid=" + hash(10) + "&pad=" + strings.Repeat("x", 2000)), 413, "over 1024 bytes", ""},
		{"notifier fails", "POST", "/", "application/x-www-form-urlencoded", strings.NewReader("txid=" + hash(99)), 500, "non-wallet transaction id", ""},
		{"GET", "GET", "/?txid=" + hash(11), "", nil, 405, "only POST", ""},
		{"PUT", "PUT", "/", "application/x-www-form-urlencoded", strings.NewReader("txid=" + hash(12)), 405, "only POST", ""},
	}
	var want []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tc.wantStatus)
			}
			if tc.wantBody == "" && len(body) != 0 {
				t.Errorf("body %q, want empty", body)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body %q, want it to contain %q", body, tc.wantBody)
			}
			if tc.wantNote != "" {
				want = append(want, tc.wantNote)
			}
			// Reply comes after the notifier returned: the record is
			// already there, without waiting.
			if got := rec.snapshot(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("notified %q, want %q", got, want)
			}
		})
	}
}

// The reply must wait for the notifier: a slow update keeps the request
// open, so bitcoind's curl only returns once the deposit is committed.
func TestHTTPRepliesAfterCommit(t *testing.T) {
	release := make(chan struct{})
	done := make(chan struct{})
	slow := notifierFunc(func(ctx context.Context, coin, txid string) error {
		<-release
		close(done)
		return nil
	})
	h, err := NewHTTP(HTTPConfig{Coin: "btc", Logger: quietLogger()}, slow)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runIntake(t, func(ctx context.Context) error { return h.Serve(ctx, ln) })
	replied := make(chan int, 1)
	go func() {
		resp, err := http.PostForm("http://"+ln.Addr().String(), url.Values{"txid": {hash(1)}})
		if err != nil {
			replied <- -1
			return
		}
		resp.Body.Close()
		replied <- resp.StatusCode
	}()
	select {
	case s := <-replied:
		t.Fatalf("replied %d before the notifier returned", s)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if s := <-replied; s != 200 {
		t.Fatalf("status %d, want 200", s)
	}
	<-done
}

func TestNewHTTPNeedsCoin(t *testing.T) {
	if _, err := NewHTTP(HTTPConfig{}, newRecorder()); err == nil || !strings.Contains(err.Error(), "needs Coin") {
		t.Fatalf("err %v, want a missing-coin error", err)
	}
	h, err := NewHTTP(HTTPConfig{Coins: []string{"btc"}}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "/", strings.NewReader("txid="+hash(1)))
	w := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(w, req)
	if w.status != 400 || !strings.Contains(w.body.String(), "no coin") {
		t.Fatalf("status %d body %q, want 400 naming the missing coin", w.status, w.body.String())
	}
}

type statusRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = 200
	}
	return s.body.Write(b)
}
func (s *statusRecorder) WriteHeader(code int) { s.status = code }

type notifierFunc func(ctx context.Context, coin, txid string) error

func (f notifierFunc) WalletNotify(ctx context.Context, coin, txid string) error {
	return f(ctx, coin, txid)
}
func (f notifierFunc) BlockNotify(ctx context.Context, coin, hash string) error {
	return f(ctx, coin, hash)
}
