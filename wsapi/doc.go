// Package wsapi serves walletgate's plain WebSocket API at /ws: JSON
// requests and answers in the shape of the REST API, and the same pushes
// as Socket.IO, without Socket.IO's framing. See README.md for the wire
// contract.
//
// Each connection has three goroutines, all owned by its HTTP handler: the
// reader (the handler itself), one writer that owns every write and its
// deadline, and one pinger. Requests run on at most Config.MaxInFlight
// goroutines at a time; when they are all busy the reader stops reading,
// so a client cannot queue unbounded work. Pushes come from the hub, which
// bounds how many may wait to be written (hub.Config.QueueSize) and closes
// a connection that falls further behind; the initial balances of a
// subscribe are paced by the hub (hub.Config.RefreshWindow) instead, so a
// subscribe of the maximum never makes a reading client a slow consumer.
//
// Server.Shutdown closes every connection with status 1001 (going away)
// and refuses new ones with HTTP 503, for the process's shutdown.
package wsapi
