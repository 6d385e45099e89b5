// Package inmem is a leaky.Limiter that keeps its buckets in the memory of one
// process: the embedded default, and the reference the redis limiter is
// checked against.
package inmem

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/ptu-dev/ptu/leaky"
)

// IdleAfter is how long a bucket must go untouched, and be drained empty,
// before it is evicted. An empty bucket is the same as no bucket, so eviction
// loses nothing; the delay only avoids re-creating buckets of deployments
// that are called every few seconds.
const IdleAfter = 5 * time.Minute

// sweepEvery is how often each shard looks for idle buckets, on the first
// call after the interval has passed.
const sweepEvery = time.Minute

const shardCount = 64 // a power of two

// Limiter is an in-memory leaky.Limiter. Keys are spread over shards, each
// with its own mutex, so calls for different deployments rarely contend.
// The zero value is not usable; call New.
type Limiter struct {
	now    func() time.Time
	rule   leaky.RetryRule
	seed   maphash.Seed
	shards [shardCount]shard
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithRetryRule sets the retry-after rule rejected calls are told by
// (leaky.DefaultRetryRule if not given).
func WithRetryRule(r leaky.RetryRule) Option { return func(l *Limiter) { l.rule = r } }

var (
	_ leaky.Limiter = (*Limiter)(nil)
	_ leaky.Settler = (*Limiter)(nil)
)

type shard struct {
	mu        sync.Mutex
	buckets   map[string]*entry
	nextSweep time.Time
	_         [24]byte // pad to a cache line, so neighbouring shards' locks do not share one
}

type entry struct {
	bucket leaky.Bucket
	// capacity is the capacity last used with the bucket; the sweep needs
	// one to tell whether the bucket has drained.
	capacity float64
}

// New returns an empty limiter reading the time from now (time.Now if nil).
func New(now func() time.Time, opts ...Option) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{now: now, rule: leaky.DefaultRetryRule, seed: maphash.MakeSeed()}
	for _, o := range opts {
		o(l)
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*entry)
	}
	return l
}

func (l *Limiter) shard(key string) *shard {
	return &l.shards[maphash.String(l.seed, key)&(shardCount-1)]
}

// Admit decides one call for key; an admitted call's reservation settles
// through Correct. The context is not used: the in-memory limiter never
// blocks on anything but a shard's mutex.
func (l *Limiter) Admit(_ context.Context, key string, capacityPerMinute, estimate float64) (leaky.Decision, error) {
	if err := leaky.CheckAdmit(capacityPerMinute, estimate); err != nil {
		return leaky.Decision{}, err
	}
	now := l.now()
	s := l.shard(key)
	s.mu.Lock()
	s.maybeSweep(now)
	e := s.buckets[key]
	if e == nil {
		e = &entry{}
		s.buckets[key] = e
	}
	e.capacity = capacityPerMinute
	d := e.bucket.AdmitRule(now, capacityPerMinute, estimate, l.rule)
	s.mu.Unlock()
	if d.Allowed {
		d.Reservation = leaky.NewReservation(l, key, capacityPerMinute, estimate)
	}
	return d, nil
}

// Correct adds delta tokens to key's bucket: the correction of a
// reservation (see leaky.Settler); callers settle through the Reservation.
func (l *Limiter) Correct(_ context.Context, key string, capacityPerMinute, delta float64) error {
	if err := leaky.CheckCorrect(capacityPerMinute, delta); err != nil {
		return err
	}
	now := l.now()
	s := l.shard(key)
	s.mu.Lock()
	s.maybeSweep(now)
	e := s.buckets[key]
	switch {
	case e != nil:
		e.capacity = capacityPerMinute
		e.bucket.Settle(now, capacityPerMinute, delta)
	case delta > 0:
		// The bucket was evicted while the call ran (its estimate drained
		// away); the extra cost still counts.
		e = &entry{capacity: capacityPerMinute}
		e.bucket.Settle(now, capacityPerMinute, delta)
		s.buckets[key] = e
	}
	s.mu.Unlock()
	return nil
}

// Utilization reports key's utilization in percent at the current time.
func (l *Limiter) Utilization(_ context.Context, key string, capacityPerMinute float64) (float64, error) {
	if err := leaky.CheckCapacity(capacityPerMinute); err != nil {
		return 0, err
	}
	now := l.now()
	s := l.shard(key)
	s.mu.Lock()
	var u float64
	if e := s.buckets[key]; e != nil {
		u = e.bucket.Utilization(now, capacityPerMinute)
	}
	s.mu.Unlock()
	return u, nil
}

// RetryRule returns the limiter's retry-after rule.
func (l *Limiter) RetryRule() leaky.RetryRule { return l.rule }

// Len returns the number of buckets held.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}

// Sweep evicts every idle bucket now and returns how many it evicted. Calls
// sweep each shard about once a minute on their own; Sweep is for callers
// that want memory back sooner.
func (l *Limiter) Sweep() int {
	now := l.now()
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.sweep(now)
		s.mu.Unlock()
	}
	return n
}

func (s *shard) maybeSweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.sweep(now)
}

func (s *shard) sweep(now time.Time) int {
	s.nextSweep = now.Add(sweepEvery)
	n := 0
	for k, e := range s.buckets {
		if now.Sub(e.bucket.Last) >= IdleAfter && e.bucket.Idle(now, e.capacity) {
			delete(s.buckets, k)
			n++
		}
	}
	return n
}
