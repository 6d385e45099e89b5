package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// batchWriter buffers the server's log lines and writes them out in batches,
// every flushEvery or when 64 KiB have gathered, so that the access log's
// line per call is not a write system call per call on the response path.
// Close writes what is left.
type batchWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const flushEvery = 100 * time.Millisecond

func newBatchWriter(w io.Writer) *batchWriter {
	b := &batchWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write buffers p, a whole log line (slog handlers write one line per call).
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes the buffered lines.
func (b *batchWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the flusher and writes what is left.
func (b *batchWriter) Close() error {
	close(b.stop)
	<-b.done
	return b.Flush()
}
