package socketio

import "github.com/zishang520/socket.io/servers/engine/v3/transports"

// PendingPolls counts the library's polling sessions that have a long-poll
// GET pending, so a test can shut down clients that are idle rather than
// between two polls.
func PendingPolls(s *Server) int {
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	n := 0
	for _, ls := range s.sess.live {
		if tr := ls.eng.Transport(); tr.Name() == transports.POLLING && tr.Writable() {
			n++
		}
	}
	return n
}
