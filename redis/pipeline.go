package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// maxLeaders is how many admit pipelines may be on their way to Redis at
// once; maxPipeline is the most admits one carries.
const (
	maxLeaders  = 2
	maxPipeline = 128
)

// admitPipe batches concurrent admit scripts into pipelines (group commit).
// Under load one write and one read then carry many calls' admissions, and
// Redis wakes once for them rather than once per call, which matters most
// when it shares its machine. There is no dispatcher goroutine and no wait
// for company: a caller that finds fewer than maxLeaders pipelines on their
// way sends its admit at once, with whatever is queued, so a lone caller's
// admit goes out as one plain script. The others queue and wait for their
// replies; when a leader's pipeline returns and calls are queued, it hands
// the lead to the first of them.
type admitPipe struct {
	mu      sync.Mutex
	queue   []*admitCall
	leaders int
}

type admitCall struct {
	key      string
	args     []any
	res      []any
	err      error
	answered bool          // res and err are set
	lead     bool          // set instead of a reply: this caller sends the queue
	done     chan struct{} // one send: the reply or the lead
}

// errNotSent wraps the context error of an admit whose caller gave up
// before it was sent: Redis never saw it.
var errNotSent = errors.New("admit not sent")

// runAdmit runs the admit script for key with args, in a pipeline with the
// admits queued meanwhile, and returns its reply.
func (l *Limiter) runAdmit(ctx context.Context, key string, args []any) ([]any, error) {
	c := &admitCall{key: key, args: args, done: make(chan struct{}, 1)}
	p := &l.admits
	p.mu.Lock()
	lead := p.leaders < maxLeaders
	if lead {
		p.leaders++
	} else {
		p.queue = append(p.queue, c)
	}
	p.mu.Unlock()
	if !lead {
		select {
		case <-c.done:
		case <-ctx.Done():
			p.mu.Lock()
			i := slices.Index(p.queue, c)
			if i >= 0 {
				p.queue = slices.Delete(p.queue, i, i+1)
			}
			handed := c.lead
			p.mu.Unlock()
			if handed { // given the lead as the context ended: pass it on
				<-c.done
				l.sendAdmits(ctx, nil)
			}
			if i >= 0 || handed {
				return nil, fmt.Errorf("%w: %w", errNotSent, ctx.Err())
			}
			// An admit already sent may still run: its reservation then
			// drains like that of any call whose client went away.
			return nil, ctx.Err()
		}
		if c.answered {
			return c.res, c.err
		}
	}
	l.sendAdmits(ctx, c)
	return c.res, c.err
}

// sendAdmits sends mine (if not nil) and the queued admits, up to
// maxPipeline in all, as one pipeline and answers each. Then it hands the
// lead to the first queued caller, if any, or gives it up.
func (l *Limiter) sendAdmits(ctx context.Context, mine *admitCall) {
	p := &l.admits
	p.mu.Lock()
	var batch []*admitCall
	if mine != nil {
		batch = append(batch, mine)
	}
	n := min(len(p.queue), maxPipeline-len(batch))
	batch = append(batch, p.queue[:n]...)
	p.queue = dequeue(p.queue, n)
	p.mu.Unlock()

	ctx = context.WithoutCancel(ctx) // the others' admits must not fail with this caller's context
	switch {
	case len(batch) == 1:
		c := batch[0]
		c.res, c.err = admitScript.Run(ctx, l.client, []string{c.key}, c.args...).Slice()
	case len(batch) > 1:
		pipe := l.client.Pipeline()
		cmds := make([]*goredis.Cmd, len(batch))
		for i, c := range batch {
			cmds[i] = admitScript.EvalSha(ctx, pipe, []string{c.key}, c.args...)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		for i, c := range batch {
			c.res, c.err = cmds[i].Slice()
			if goredis.HasErrorPrefix(c.err, "NOSCRIPT") {
				c.res, c.err = admitScript.Run(ctx, l.client, []string{c.key}, c.args...).Slice()
			}
		}
	}
	for _, c := range batch {
		c.answered = true
		if c != mine {
			c.done <- struct{}{}
		}
	}

	p.mu.Lock()
	var next *admitCall
	if len(p.queue) > 0 {
		next = p.queue[0]
		p.queue = dequeue(p.queue, 1)
		next.lead = true
	} else {
		p.leaders--
	}
	p.mu.Unlock()
	if next != nil {
		next.done <- struct{}{}
	}
}

// dequeue drops q's first n calls, keeping its array, and clears the
// slots it vacates so that answered calls are not kept alive.
func dequeue(q []*admitCall, n int) []*admitCall {
	k := copy(q, q[n:])
	clear(q[k:])
	return q[:k]
}
