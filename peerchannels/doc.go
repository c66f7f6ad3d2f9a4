// Package peerchannels serves the external API of the ElectrumSV reference
// server (accounts with master bearer tokens, peer channels with access
// tokens, messages, and their websockets) wire-compatibly, over a
// walletgate.ChannelStore. The compatibility rules, quirks included, are in
// spec/peer-channels.md; the code follows the reference server's observed
// behaviour and fixes only what the spec marks as Python crashes (500s) or
// scoping gaps.
//
// Wiring: New builds a Service; Handler serves it; Run owns the notice
// subscription and every websocket, and must run for sockets to hear
// writes. Writes publish a walletgate.ChannelNotice after commit; Run's one
// subscription fans notices out to this process's sockets, so processes
// sharing PostgreSQL and a cross-process notifier reach each other's sockets.
//
// The headers and indexer proxies add their routes to the same Router
// (Config.Extra or Service.Router) and push to account sockets through
// SendAccount and BroadcastAccountsText, see whether an account socket is
// open with AccountConnected, and clean up after one with
// OnAccountSocketClosed.
package peerchannels
