package socketio

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
)

// Polling answers of CompressionThreshold bytes or more are compressed,
// as the reference server's httpCompression does, with the first of gzip
// and deflate (raw DEFLATE, as the library this package replaced sent)
// that the client accepts. Brotli and zstd are not offered: they would
// need libraries of their own, and every client that accepts them
// accepts gzip.

// acceptedEncoding picks the encoding of a payload for r, "" for none.
func acceptedEncoding(r *http.Request) string {
	ae := r.Header.Get("Accept-Encoding")
	for _, enc := range []string{"gzip", "deflate"} {
		if strings.Contains(ae, enc) {
			return enc
		}
	}
	return ""
}

// compress encodes body with enc. The compressors are pooled: each holds
// several hundred kilobytes of state.
func (s *Server) compress(enc string, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(body)/2 + 64)
	switch enc {
	case "gzip":
		zw, _ := s.gzipPool.Get().(*gzip.Writer)
		if zw == nil {
			zw = gzip.NewWriter(&buf)
		} else {
			zw.Reset(&buf)
		}
		defer s.gzipPool.Put(zw)
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	case "deflate":
		zw, _ := s.flatePool.Get().(*flate.Writer)
		if zw == nil {
			var err error
			if zw, err = flate.NewWriter(&buf, flate.DefaultCompression); err != nil {
				return nil, fmt.Errorf("deflate: %w", err)
			}
		} else {
			zw.Reset(&buf)
		}
		defer s.flatePool.Put(zw)
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown encoding %q", enc)
	}
	return buf.Bytes(), nil
}
