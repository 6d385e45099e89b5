package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxSettleBatch is the most keys one settle script corrects. A larger
// backlog goes in several scripts, so that no one script holds Redis for
// long.
const maxSettleBatch = 128

// flushTimeout bounds one settle script, Redis's own timeouts aside: the
// flusher has no caller whose context could.
const flushTimeout = 5 * time.Second

// settleQueue holds the corrections of settled reservations (and of
// Correct) that Redis has not yet applied, summed per key. One flusher
// goroutine at a time, started by the first correction of a backlog and gone
// when the queue is empty, writes them in batches: while one batch is on its way, the next accumulates, so
// under load one script corrects many calls' reservations, and when idle a
// correction leaves at once. An Admit of a key with a queued correction
// takes it along, so this limiter's own decisions always see it.
type settleQueue struct {
	mu       sync.Mutex
	pending  map[string]correction   // by Redis key
	inflight map[string]*settleBatch // keys being written, and their batch
	running  bool                    // a flusher goroutine is at work
	idle     chan struct{}           // closed when the flusher stops
	manual   bool                    // no flusher: tests flush by hand
}

type correction struct{ capacity, delta float64 }

// settleBatch is one settle script on its way; done is closed when Redis
// has answered (or not).
type settleBatch struct{ done chan struct{} }

func newSettleQueue() settleQueue {
	idle := make(chan struct{})
	close(idle)
	return settleQueue{pending: make(map[string]correction), inflight: make(map[string]*settleBatch), idle: idle}
}

// queue adds delta to key's correction and reports whether a flusher must
// be started.
func (q *settleQueue) queue(key string, capacity, delta float64) (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.pending[key]
	q.pending[key] = correction{capacity: capacity, delta: c.delta + delta}
	if q.running || q.manual {
		return false
	}
	q.running = true
	q.idle = make(chan struct{})
	return true
}

// take removes key's queued correction (0 if none) for a script about to
// touch key. If a batch carrying key is on its way it first waits for it,
// so that what this limiter settled reaches Redis before what it asks next.
func (q *settleQueue) take(ctx context.Context, key string) (float64, error) {
	for {
		q.mu.Lock()
		b := q.inflight[key]
		if b == nil {
			c, ok := q.pending[key]
			if ok {
				delete(q.pending, key)
			}
			q.mu.Unlock()
			return c.delta, nil
		}
		q.mu.Unlock()
		select {
		case <-b.done:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// next moves up to maxSettleBatch queued keys into a new batch on its way.
func (q *settleQueue) next() (*settleBatch, []string, []correction) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil, nil, nil
	}
	b := &settleBatch{done: make(chan struct{})}
	n := min(len(q.pending), maxSettleBatch)
	keys, cs := make([]string, 0, n), make([]correction, 0, n)
	for k, c := range q.pending {
		if len(keys) == n {
			break
		}
		delete(q.pending, k)
		keys, cs = append(keys, k), append(cs, c)
		q.inflight[k] = b
	}
	return b, keys, cs
}

// finish marks b's keys written (or lost) and wakes whoever waits for them.
func (q *settleQueue) finish(b *settleBatch, keys []string) {
	q.mu.Lock()
	for _, k := range keys {
		if q.inflight[k] == b {
			delete(q.inflight, k)
		}
	}
	q.mu.Unlock()
	close(b.done)
}

// stop ends the flusher if nothing is queued, and reports whether it did.
func (q *settleQueue) stop() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) > 0 {
		return false
	}
	q.running = false
	close(q.idle)
	return true
}

func (q *settleQueue) idleChan() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.idle
}

// queueSettle queues delta for key (a Redis key) and starts a flusher if
// none is at work.
func (l *Limiter) queueSettle(key string, capacity, delta float64) {
	if l.settles.queue(key, capacity, delta) {
		go l.flusher()
	}
}

// flusher writes queued corrections until none is left.
func (l *Limiter) flusher() {
	for {
		if err := l.flushBatch(context.Background()); err != nil {
			l.logger.Debug("redis limiter: settle batch failed", "err", err)
		}
		if l.settles.stop() {
			return
		}
	}
}

// flushBatch writes one batch of queued corrections. If Redis does not take
// it, the corrections are lost (Stats.DroppedSettles) and the reservations
// drain from the shared bucket as if the calls had used their estimates.
func (l *Limiter) flushBatch(ctx context.Context) error {
	b, keys, cs := l.settles.next()
	if b == nil {
		return nil
	}
	defer l.settles.finish(b, keys)
	if l.skip() {
		l.droppedSettles.Add(uint64(len(keys)))
		return fmt.Errorf("%w: %w", ErrUnavailable, errBackoff)
	}
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := l.runSettle(ctx, keys, cs); err != nil {
		l.droppedSettles.Add(uint64(len(keys)))
		return l.failed(context.Background(), err)
	}
	l.recovered()
	return nil
}

// runSettle runs the settle script on keys (Redis keys, prefixed) with
// their corrections.
func (l *Limiter) runSettle(ctx context.Context, keys []string, cs []correction) error {
	args := make([]any, 0, 2+2*len(cs))
	args = append(args, l.idleMs, l.scriptTime())
	for _, c := range cs {
		args = append(args, formatFloat(c.capacity), formatFloat(c.delta))
	}
	return settleScript.Run(ctx, l.client, keys, args...).Err()
}

// settleKey writes key's queued correction now, for a caller about to read
// the bucket.
func (l *Limiter) settleKey(ctx context.Context, key string, capacity float64) error {
	delta, err := l.settles.take(ctx, key)
	if err != nil || delta == 0 {
		return err
	}
	if err := l.runSettle(ctx, []string{key}, []correction{{capacity, delta}}); err != nil {
		l.droppedSettles.Add(1)
		return err
	}
	return nil
}

// Flush returns once no correction is queued or on its way, each having
// reached Redis or been dropped (see Stats.DroppedSettles), or when ctx
// ends. Settles that keep coming keep it waiting: a server calls it on
// shutdown, once its calls have ended, so that their settles are not lost;
// tests call it before reading Redis directly.
func (l *Limiter) Flush(ctx context.Context) error {
	if l.settles.manual {
		for l.settles.len() > 0 {
			if err := l.flushBatch(ctx); err != nil && !errors.Is(err, ErrUnavailable) {
				return err
			}
		}
		return nil
	}
	select {
	case <-l.settles.idleChan():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("redis limiter: flushing settles: %w", ctx.Err())
	}
}

// len is the number of keys with a correction queued and not yet on its way.
func (q *settleQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}
