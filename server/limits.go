package server

import (
	"io"
	"net/http"
	"time"
)

// Defaults of the limits `ptu serve` applies; docs/hardening.md lists them
// with their flags.
const (
	DefaultMaxHeaderBytes    = 64 << 10 // request line and headers
	DefaultMaxARMBody        = 1 << 20  // ARM request bodies
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second // a request body, from the end of its headers
	DefaultWriteTimeout      = 60 * time.Second // each write of a response; streams renew it per chunk
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxStreams        = 1000 // concurrent streamed calls per deployment
	DefaultDrainTimeout      = 30 * time.Second
	DefaultLogRepeatInterval = 10 * time.Second // a repeated warning or error is logged once per interval
)

// withDeadlines bounds how long a client may take to send a request body
// (read timeout) and to take each piece of the response (write timeout).
// They are per-request deadlines rather than http.Server's ReadTimeout and
// WriteTimeout, which run from the start of the request and would cut off a
// long stream (WriteTimeout) or cancel its context (ReadTimeout, once the
// connection's background read hits it). The read deadline is lifted as soon
// as the body is read to its end; the write deadline is renewed before every
// write, so a stream lives as long as its client keeps reading.
func withDeadlines(h http.Handler, read, write time.Duration) http.Handler {
	if read <= 0 && write <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if read > 0 && r.Body != nil && r.Body != http.NoBody {
			if rc.SetReadDeadline(time.Now().Add(read)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		if write > 0 {
			dw := &deadlineWriter{ResponseWriter: w, rc: rc, d: write}
			// A deadline left on a keep-alive connection by an earlier request
			// must not fail this one; and once the handler returns, the server
			// still flushes what it buffered.
			dw.renew()
			defer dw.renew()
			w = dw
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline once the body has been read to its end.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !b.done {
		b.done = true
		if err == io.EOF {
			_ = b.rc.SetReadDeadline(time.Time{})
		}
	}
	return n, err
}

// deadlineWriter renews the write deadline before each write and flush.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) renew() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.d)) }

func (w *deadlineWriter) WriteHeader(status int) {
	w.renew()
	w.ResponseWriter.WriteHeader(status)
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.renew()
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) Flush() {
	w.renew()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
