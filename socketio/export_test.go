package socketio

// PendingPolls counts the polling sessions that have a long-poll GET
// pending, so a test can shut down clients that are idle rather than
// between two polls.
func PendingPolls(s *Server) int {
	n := 0
	for _, c := range s.snapshot() {
		c.mu.Lock()
		if c.ws == nil && c.poll != nil && !c.closed {
			n++
		}
		c.mu.Unlock()
	}
	return n
}
