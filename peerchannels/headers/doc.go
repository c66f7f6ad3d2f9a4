// Package headers serves the ElectrumSV reference server's block-header API
// (/api/v1/headers/...) and its tips websocket.
//
// Header data comes from a Source. The first Source is a proxy to HeaderSV v2
// (HeaderSV, configured by HEADER_SV_URL); native sources backed by
// walletgate's own chain data can replace it without touching the handlers,
// because the handlers only ever see parsed headers and rebuild the raw
// 80-byte form themselves (checking it against the hash, so a source that
// garbles a field is caught instead of served).
//
// Wiring, with svc the peer-channels service (it satisfies AccountPusher):
//
//	src, err := headers.NewHeaderSV(headers.HeaderSVConfig{URL: headerSVURL})
//	h, err := headers.New(headers.Config{Source: src, Pusher: svc})
//	h.Register(svc.Router().Handle)  // only when EXPOSE_HEADER_SV_APIS is set
//	go h.Run(ctx)                    // tip poller; closes tips sockets when ctx ends
//
// Status mapping follows the reference server: an unreachable source is 503 on
// every route; an unknown hash is 204 in JSON mode (HeaderSV's own answer) and
// 404 in binary mode; other upstream statuses pass through with an empty body.
package headers
