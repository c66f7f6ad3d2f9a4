package walletnotify

import "bytes"

// lineSplitter cuts a byte stream into lines ended by LF, CR or CRLF,
// however the stream was chunked by writes and reads. A line longer than
// max is dropped whole (reported once through the tooLong callback) rather
// than growing the buffer without bound.
type lineSplitter struct {
	max     int
	buf     []byte
	skip    bool // discarding the rest of an over-long line
	tooLong func(prefix []byte)
}

// feed adds a chunk and calls emit for every complete line in it.
// Empty lines (including the gap inside CRLF) are passed on; ParseLine
// skips them.
func (s *lineSplitter) feed(chunk []byte, emit func(line []byte)) {
	for len(chunk) > 0 {
		i := bytes.IndexAny(chunk, "\r\n")
		if i < 0 {
			s.add(chunk)
			return
		}
		s.add(chunk[:i])
		if !s.skip {
			emit(s.buf)
		}
		s.buf, s.skip = s.buf[:0], false
		chunk = chunk[i+1:]
	}
}

func (s *lineSplitter) add(b []byte) {
	if s.skip {
		return
	}
	if len(s.buf)+len(b) > s.max {
		if s.tooLong != nil {
			s.tooLong(append(s.buf, b...)[:min(len(s.buf)+len(b), 80)])
		}
		s.buf, s.skip = s.buf[:0], true
		return
	}
	s.buf = append(s.buf, b...)
}
