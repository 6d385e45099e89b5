package leaky

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"time"
)

// sim is a discrete-event simulation over virtual time: events run in time
// order (ties in scheduling order), and the clock jumps from one to the next.
type sim struct {
	now time.Time
	q   eventQueue
	seq int
}

type simEvent struct {
	at  time.Time
	seq int
	fn  func()
}

type eventQueue []simEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

var simStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newSim() *sim { return &sim{now: simStart} }

// after schedules fn to run d after the current virtual time.
func (s *sim) after(d time.Duration, fn func()) {
	s.seq++
	heap.Push(&s.q, simEvent{at: s.now.Add(d), seq: s.seq, fn: fn})
}

// run processes events until none are left before end, then sets the clock to end.
func (s *sim) run(end time.Time) {
	for s.q.Len() > 0 && s.q[0].at.Before(end) {
		e := heap.Pop(&s.q).(simEvent)
		s.now = e.at
		e.fn()
	}
	s.now = end
}

// expDuration draws an exponential inter-arrival time with the given mean.
func expDuration(r *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(mean))
}

// uniform draws from [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }

// meanInterval is the mean time between calls of mean cost meanEstimate that
// offers load × capacity tokens per minute.
func meanInterval(capacityPerMinute, load, meanEstimate float64) time.Duration {
	perMinute := load * capacityPerMinute / meanEstimate
	return time.Duration(math.Round(float64(time.Minute) / perMinute))
}
