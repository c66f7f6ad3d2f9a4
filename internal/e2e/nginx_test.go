package e2e

import (
	"fmt"
	"github.com/walletgate/walletgate/internal/testenv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// siteConfig is the shipped nginx site, relative to the repository root.
const siteConfig = "contrib/nginx/walletgate.conf"

// The only two lines of the site config a test changes, each marked "e2e:".
var (
	upstreamLine = regexp.MustCompile(`(?m)^(\s*)server\s+\S+;(\s*#\s*e2e: upstream server.*)$`)
	listenLine   = regexp.MustCompile(`(?m)^(\s*)listen\s+[^;]+;(\s*#\s*e2e: listen.*)$`)
)

// testSiteConfig returns the shipped site config with its upstream server
// pointed at upstream and its listen line at listen, and nothing else
// changed. It fails t when a marked line is missing or not unique, so the
// test can never run a config other than the shipped one.
func testSiteConfig(t testing.TB, upstream, listen string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), siteConfig))
	if err != nil {
		t.Fatal(err)
	}
	site := string(b)
	for _, re := range []*regexp.Regexp{upstreamLine, listenLine} {
		if n := len(re.FindAllString(site, -1)); n != 1 {
			t.Fatalf("%s: %d lines match %s, want exactly 1 (keep the e2e: markers)", siteConfig, n, re)
		}
	}
	site = upstreamLine.ReplaceAllString(site, "${1}server "+upstream+";${2}")
	site = listenLine.ReplaceAllString(site, "${1}listen "+listen+";${2}")
	return site
}

// nginxFront is an nginx the test started in front of walletgate.
type nginxFront struct {
	dir  string
	base string
}

// startNginx runs Debian's nginx on a free loopback port with the shipped
// site config in front of upstream (host:port), everything it writes
// (pid, logs, temp files) inside a temp directory. It is stopped when t
// ends, and its error log goes to t's log if t failed.
func startNginx(t testing.TB, upstream string) *nginxFront {
	t.Helper()
	bin := tool(t, "nginx", "run scripts/install-nginx")
	dir := t.TempDir()
	port := freePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	if err := os.WriteFile(filepath.Join(dir, "walletgate.conf"), []byte(testSiteConfig(t, upstream, listen)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.MkdirAll(filepath.Join(dir, "temp", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// As root, nginx's workers would run as nobody and could not enter the
	// test's private temp directory; run them as the test's user instead.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	conf := fmt.Sprintf(`# nginx.conf written by internal/e2e: a minimal main config around the
# shipped site config, with every path inside the test's directory.
%sworker_processes 1;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/temp/client_body;
    proxy_temp_path %[2]s/temp/proxy;
    fastcgi_temp_path %[2]s/temp/fastcgi;
    uwsgi_temp_path %[2]s/temp/uwsgi;
    scgi_temp_path %[2]s/temp/scgi;
    include %[2]s/walletgate.conf;
}
`, user, dir)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath,
		"-g", fmt.Sprintf("daemon off; pid %s;", filepath.Join(dir, "nginx.pid"))}
	if out, err := exec.Command(bin, append([]string{"-t", "-q"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t on the shipped site config: %v\n%s", err, out)
	}
	logs := &testenv.LockedBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Fast shutdown: a graceful one would wait for open websockets.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			el, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nnginx error.log:\n%s", logs.String(), el)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			el, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited at start: %v\n%s\n%s", cmd.ProcessState, logs.String(), el)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %s: %v", listen, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &nginxFront{dir: dir, base: "http://" + listen}
}

// rateLimited reports lines of nginx's error log saying a request was
// limited (limit_req / limit_conn), for failure messages.
func (n *nginxFront) rateLimited() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "limiting requests") || strings.Contains(l, "limiting connections") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSiteConfigSubstitution checks that the test runs the shipped config:
// the substituted copy differs from the file in exactly the two marked
// lines.
func TestSiteConfigSubstitution(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), siteConfig))
	if err != nil {
		t.Fatal(err)
	}
	orig := strings.Split(string(b), "\n")
	got := strings.Split(testSiteConfig(t, "127.0.0.1:1111", "127.0.0.1:2222"), "\n")
	if len(got) != len(orig) {
		t.Fatalf("substitution changed the line count: %d -> %d", len(orig), len(got))
	}
	var changed []string
	for i := range orig {
		if orig[i] != got[i] {
			changed = append(changed, strings.TrimSpace(got[i]))
		}
	}
	if len(changed) != 2 ||
		!strings.HasPrefix(changed[0], "server 127.0.0.1:1111;") || !strings.Contains(changed[0], "# e2e: upstream server") ||
		!strings.HasPrefix(changed[1], "listen 127.0.0.1:2222;") || !strings.Contains(changed[1], "# e2e: listen") {
		t.Fatalf("changed lines:\n%s\nwant only the marked upstream server line, then the marked listen line", strings.Join(changed, "\n"))
	}
}
