package socketio_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawResponse is an HTTP answer as a client sees it on the wire: the
// status, every header but Date (sorted, one "Name: value" per value;
// a Content-Length that matches the body reads "Content-Length: =body")
// and the body with session ids replaced by SID.
type rawResponse struct {
	status  int
	headers []string
	body    string
}

var sidPattern = regexp.MustCompile(`"sid":"[A-Za-z0-9_-]+"`)

// rawRequest sends req (a whole HTTP/1.1 request) on a connection of its
// own and reads the answer.
func rawRequest(t *testing.T, addr, req string) rawResponse {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read answer to %q: %v", req, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var hs []string
	for k, vs := range resp.Header {
		if k == "Date" {
			continue
		}
		for _, v := range vs {
			if k == "Content-Length" && v == strconv.Itoa(len(b)) {
				v = "=body"
			}
			hs = append(hs, k+": "+v)
		}
	}
	sort.Strings(hs)
	return rawResponse{status: resp.StatusCode, headers: hs, body: sidPattern.ReplaceAllString(string(b), `"sid":"SID"`)}
}

// httpRequest renders a request with the given headers and body.
func httpRequest(method, target string, headers map[string]string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: walletgate.test\r\nConnection: close\r\n", method, target)
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\r\n", k, headers[k])
	}
	if method == http.MethodPost || body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.String()
}

func (r rawResponse) String() string {
	return fmt.Sprintf("%d\n%s\n%q", r.status, strings.Join(r.headers, "\n"), r.body)
}
