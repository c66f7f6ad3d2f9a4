// Package hub fans backend events out to client connections of every push
// transport (Socket.IO, plain WebSocket).
//
// One Hub serves the whole process. Each coin's chainview.Service is attached
// with AddCoin; the hub listens to its block and change events. Transports
// register each client connection with Connect and then Watch the scripts
// the client asks for. The hub:
//
//   - keeps one chainview.Service watch (and so one backend subscription) per
//     connection and script hash, released on Unwatch or Close; the service
//     in turn keeps one backend subscription per distinct script hash;
//   - builds each balance_changed payload once per change per script hash,
//     however many connections watch it, and coalesces changes that arrive
//     while a build runs (the latest state is always pushed, never an older
//     one after a newer one);
//   - sends every block event, in order, to every connection of the coin,
//     at once from the backend's event: a block push is queued to a
//     connection before the balance pushes of the changes reported after
//     that block, so a client hears "block N" before the balances it
//     confirmed;
//   - bounds each connection's unsent pushes (Config.QueueSize). A
//     connection whose client does not read fast enough is closed with a
//     reason; the hub never waits for a client, so a slow client never
//     slows the others;
//   - paces the initial pushes of a subscribe (Conn.Refresh) instead:
//     they do not count against QueueSize, and at most
//     Config.RefreshWindow of them per connection are handed to the
//     transport at a time, the next one going as each is written. A
//     subscribe of any size up to Config.MaxWatchesPerConn therefore
//     succeeds for a client that reads, however much faster the backend
//     answers than the client reads; a client that does not read is
//     closed by its transport's write or ping timeout.
//
// Account events (txupdate, spec/cryptoassets.md §8) reach the connections
// that subscribed to the account with Conn.SubscribeAccount, which takes a
// key checked by Config.AccountKey: the events carry deposit data. The
// events outbox hands them to Hub.PublishAccountEvent (outbox.Sockets),
// which pushes them through the same bounded queues. This delivery is best
// effort to whoever is connected at that moment; at-least-once
// applications use the HTTP, Redis or script handlers.
//
// Nothing is lost across a backend reconnect: the backend publishes a change
// event for every watched script hash that changed while it was away, and
// each becomes a push like any other change.
//
// Everything is keyed by coin, so one hub serves many coins.
package hub
