package peerchannels

import (
	"net/http"
	"net/url"
	"strings"
)

// Router is a small ordered HTTP router for the reference server's URL
// space. Go's ServeMux refuses some of these pattern pairs at registration
// (GET /api/v1/channel/manage/{id} and GET /api/v1/channel/{id}/notify overlap
// and neither is more specific), so Router ranks candidates itself: among the
// routes whose method and segment count fit, the one with a literal segment at
// the first position where they differ wins, then the one registered first.
// The matched wildcards are set with Request.SetPathValue, so handlers read
// them with r.PathValue("id").
//
// Register every route before serving; Router is not safe for registration
// concurrently with ServeHTTP.
type Router struct {
	routes []route
}

type route struct {
	method   string
	segs     []segment
	h        http.Handler
	implicit bool // a HEAD added for a GET route
}

type segment struct {
	literal string
	name    string // non-empty for a {name} wildcard
}

// NewRouter returns an empty router; unmatched paths answer 404 and paths
// matched only under other methods answer 405, both in the reference
// server's text form.
func NewRouter() *Router { return &Router{} }

// Handle registers h for method and pattern, a path of "/"-separated
// segments where a segment written {name} matches any one non-empty
// segment. A GET route also answers HEAD, as aiohttp does, unless an
// explicit HEAD route for the same path is a better match; use HandleGETOnly
// for the one route the reference server registers without HEAD.
func (rt *Router) Handle(method, pattern string, h http.Handler) {
	rt.add(method, pattern, h, false)
	if method == http.MethodGet {
		rt.add(http.MethodHead, pattern, h, true)
	}
}

// HandleFunc is Handle for a function.
func (rt *Router) HandleFunc(method, pattern string, f func(http.ResponseWriter, *http.Request)) {
	rt.Handle(method, pattern, http.HandlerFunc(f))
}

// HandleGETOnly registers a GET route that does not answer HEAD.
func (rt *Router) HandleGETOnly(pattern string, h http.Handler) {
	rt.add(http.MethodGet, pattern, h, false)
}

func (rt *Router) add(method, pattern string, h http.Handler, implicit bool) {
	var segs []segment
	for _, p := range splitPath(pattern) {
		if len(p) > 2 && p[0] == '{' && p[len(p)-1] == '}' {
			segs = append(segs, segment{name: p[1 : len(p)-1]})
		} else {
			segs = append(segs, segment{literal: p})
		}
	}
	rt.routes = append(rt.routes, route{method: method, segs: segs, h: h, implicit: implicit})
}

// splitPath splits an escaped path into its segments, keeping empty ones so
// that "/a/" and "/a" stay different paths (no trailing-slash redirect).
func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	return strings.Split(p, "/")
}

// match reports whether rt's segments fit path segments (already unescaped).
func (r *route) match(path []string) bool {
	if len(path) != len(r.segs) {
		return false
	}
	for i, s := range r.segs {
		if s.name == "" {
			if s.literal != path[i] {
				return false
			}
		} else if path[i] == "" {
			return false
		}
	}
	return true
}

// better reports whether a outranks b for the same path: literal-first by
// position, then explicit over implicit HEAD.
func better(a, b *route) bool {
	for i := range a.segs {
		al, bl := a.segs[i].name == "", b.segs[i].name == ""
		if al != bl {
			return al
		}
	}
	return !a.implicit && b.implicit
}

// Route finds the handler for method and escaped path, returning the
// wildcard values by name. status is 200 when found, else 404 or 405.
// It never panics, whatever the path.
func (rt *Router) Route(method, escapedPath string) (h http.Handler, params map[string]string, status int) {
	raw := splitPath(escapedPath)
	path := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, nil, http.StatusNotFound
		}
		path[i] = u
	}
	var best *route
	pathSeen := false
	for i := range rt.routes {
		r := &rt.routes[i]
		if !r.match(path) {
			continue
		}
		pathSeen = true
		if r.method != method {
			continue
		}
		if best == nil || better(r, best) {
			best = r
		}
	}
	if best == nil {
		if pathSeen {
			return nil, nil, http.StatusMethodNotAllowed
		}
		return nil, nil, http.StatusNotFound
	}
	params = map[string]string{}
	for i, s := range best.segs {
		if s.name != "" {
			params[s.name] = path[i]
		}
	}
	return best.h, params, http.StatusOK
}

// allowed lists the methods registered for a path, for the Allow header.
func (rt *Router) allowed(escapedPath string) []string {
	raw := splitPath(escapedPath)
	path := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil
		}
		path[i] = u
	}
	seen := map[string]bool{}
	var out []string
	for i := range rt.routes {
		r := &rt.routes[i]
		if r.match(path) && !seen[r.method] {
			seen[r.method] = true
			out = append(out, r.method)
		}
	}
	return out
}

// ServeHTTP dispatches to the best route, or answers 404/405 as aiohttp
// does ("404: Not Found", "405: Method Not Allowed").
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, params, status := rt.Route(r.Method, r.URL.EscapedPath())
	switch status {
	case http.StatusNotFound:
		writeError(w, http.StatusNotFound, "Not Found")
		return
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", strings.Join(rt.allowed(r.URL.EscapedPath()), ","))
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	for k, v := range params {
		r.SetPathValue(k, v)
	}
	h.ServeHTTP(w, r)
}
