package status

import (
	"fmt"
	"html/template"
	"time"

	"github.com/walletgate/walletgate"
)

// layoutHTML frames every page: nav, title, coin switcher, notice, the
// page's "body" and the next-page link. No scripts, no outside assets.
const layoutHTML = `{{define "layout"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · walletgate status</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.2em 2em;color:#222}
nav a{margin-right:1.2em}nav a.cur{font-weight:bold;text-decoration:none;color:#222}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.n{text-align:right;font-family:ui-monospace,monospace;white-space:nowrap}
.mono{font-family:ui-monospace,monospace;font-size:13px;word-break:break-all}
.ok{color:#070}.bad{color:#b00}.notice{background:#fff6d5;padding:.4em .7em}
</style>
</head>
<body>
<nav>{{range .Nav}}<a href="{{.URL}}"{{if .Current}} class="cur"{{end}}>{{.Label}}</a>{{end}}</nav>
<h1>{{.Title}}</h1>
{{with .Coins}}<p>Coin: {{range .}}{{if .Current}}<strong>{{.Label}}</strong> {{else}}<a href="{{.URL}}">{{.Label}}</a> {{end}}{{end}}</p>
{{end}}{{with .Notice}}<p class="notice">{{.}}</p>
{{end}}{{template "body" .Body}}
{{with .Next}}<p><a href="{{.}}" rel="next">Next page →</a></p>
{{end}}</body>
</html>
{{end}}`

// pageHTML gives each page's "body", executed with pageData.Body.
func pageHTML() map[string]string {
	return map[string]string{
		"overview": `{{define "body"}}<table>
<thead><tr><th>Coin</th><th>Alive</th><th>Hot wallet balance</th><th>Last walletnotify</th><th>Last broadcast</th></tr></thead>
<tbody>
{{range .}}<tr><td>{{.Coin}}</td>
<td>{{if .AliveErr}}<span class="bad">no</span>: {{.AliveErr}}{{else}}<span class="ok">yes</span>{{end}}</td>
{{if .BalanceErr}}<td class="bad">{{.BalanceErr}}</td>{{else}}<td class="n">{{sats .Balance}}</td>{{end}}
<td>{{when .LastNotify}}</td><td>{{when .LastBroadcast}}</td></tr>
{{end}}</tbody></table>{{end}}`,

		"wallets": `{{define "body"}}<table>
<thead><tr><th>Coin</th><th>Hot wallet balance</th><th>Credited deposits</th><th>Deposits not credited yet</th><th>Deposits</th><th>Hot − credited</th></tr></thead>
<tbody>
{{range .}}<tr><td>{{.Coin}}</td>
{{if .HotErr}}<td class="bad">{{.HotErr}}</td>{{else}}<td class="n">{{sats .Hot}}</td>{{end}}
{{if .ScanErr}}<td class="bad" colspan="3">{{.ScanErr}}</td>{{else}}<td class="n">{{sats .Credited}}</td><td class="n">{{sats .Pending}}</td><td class="n">{{.Deposits}}{{if .Partial}}+{{end}}</td>{{end}}
<td class="n">{{if or .HotErr .ScanErr .Partial}}–{{else}}{{sats .Difference}}{{end}}</td></tr>
{{end}}</tbody></table>
<p>Credited deposits are the sums the store has added to account balances; the hot wallet also holds change and anything sent to addresses not watched here.</p>{{end}}`,

		"accounts": `{{define "body"}}<table>
<thead><tr><th>Account</th><th>Addresses</th><th>Credited balance</th></tr></thead>
<tbody>
{{range .}}<tr><td><a href="/transactions?coin={{.Coin}}&account={{.Account}}">{{.Account}}</a></td>
<td class="n"><a href="/addresses?coin={{.Coin}}&account={{.Account}}">{{.Addresses}}</a></td>
<td class="n">{{sats .Balance}}</td></tr>
{{else}}<tr><td colspan="3">No accounts.</td></tr>
{{end}}</tbody></table>{{end}}`,

		"addresses": `{{define "body"}}<table>
<thead><tr><th>Id</th><th>Address</th><th>Account</th><th>External id</th><th>Watched since</th></tr></thead>
<tbody>
{{range .}}<tr><td class="n">{{.ID}}</td>
<td class="mono"><a href="/transactions?coin={{.Coin}}&address={{.Address}}">{{.Address}}</a></td>
<td><a href="/transactions?coin={{.Coin}}&account={{.Account}}">{{.Account}}</a></td>
<td>{{.ExternalID}}</td><td>{{when .CreatedAt}}</td></tr>
{{else}}<tr><td colspan="5">No addresses.</td></tr>
{{end}}</tbody></table>{{end}}`,

		"transactions": `{{define "body"}}<table>
<thead><tr><th>Id</th><th>Txid</th><th>Address</th><th>Account</th><th>Amount</th><th>Confirmations</th><th>Credited</th><th>Updated</th></tr></thead>
<tbody>
{{range .}}<tr><td class="n">{{.ID}}</td><td class="mono">{{.TxID}}</td>
<td class="mono"><a href="/transactions?coin={{.Coin}}&address={{.Address}}">{{.Address}}</a></td>
<td><a href="/transactions?coin={{.Coin}}&account={{.Account}}">{{.Account}}</a></td>
<td class="n">{{sats .Amount}}</td><td class="n">{{.Confirmations}}</td>
<td>{{with .CreditedAt}}{{when .}}{{else}}no{{end}}</td><td>{{when .UpdatedAt}}</td></tr>
{{else}}<tr><td colspan="8">No transactions.</td></tr>
{{end}}</tbody></table>{{end}}`,

		"network_transactions": `{{define "body"}}{{if .Open}}<h2>Open (below {{.MaxConfirmations}} confirmations, still polled)</h2>
<table>
<thead><tr><th>Id</th><th>Type</th><th>Txid</th><th>Confirmations</th></tr></thead>
<tbody>
{{range .Open}}<tr><td class="n">{{.ID}}</td><td>{{.Type}}</td><td class="mono">{{.TxID}}</td><td class="n">{{.Confirmations}}</td></tr>
{{end}}</tbody></table>
{{if .OpenMore}}<p>… and {{.OpenMore}} more open.</p>{{end}}
{{end}}<h2>Deposits by transaction</h2>
<table>
<thead><tr><th>Id</th><th>Txid</th><th>Confirmations</th><th>Watched outputs</th><th>Amount</th><th>Credited</th></tr></thead>
<tbody>
{{range .History}}<tr><td class="n">{{.ID}}</td><td class="mono">{{.TxID}}</td><td class="n">{{.Confirmations}}</td>
<td class="n">{{.Outputs}}</td><td class="n">{{sats .Amount}}</td><td>{{.Credited}} of {{.Outputs}}</td></tr>
{{else}}<tr><td colspan="6">No deposits.</td></tr>
{{end}}</tbody></table>{{end}}`,
	}
}

// parsePages builds one template per page: the layout plus its body.
func parsePages(now func() time.Time) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"sats": walletgate.FormatSats,
		"when": func(t time.Time) string { return when(t, now()) },
	}
	base, err := template.New("layout").Funcs(funcs).Parse(layoutHTML)
	if err != nil {
		return nil, fmt.Errorf("status: parse layout: %w", err)
	}
	bodies := pageHTML()
	out := make(map[string]*template.Template, len(bodies))
	for name, body := range bodies {
		t, err := base.Clone()
		if err == nil {
			t, err = t.Parse(body)
		}
		if err != nil {
			return nil, fmt.Errorf("status: parse page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// when shows t in UTC with how long ago it was; the zero time is "never".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	s := t.UTC().Format("2006-01-02 15:04:05 UTC")
	if d := now.Sub(t); d >= 0 {
		s += " (" + d.Round(time.Second).String() + " ago)"
	}
	return s
}
