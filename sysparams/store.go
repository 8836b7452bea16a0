package sysparams

import (
	"context"
	"sort"
	"sync"
)

// Store persists one parameter set and tells subscribers about changes.
// The file store (OpenFile) is the embedded default; a database store
// shares one set between cluster nodes, keeping the same Document form.
// Implementations are safe for concurrent use.
type Store interface {
	// Load returns a copy of the current parameters; the caller may modify
	// it freely. A store that was never written returns Defaults().
	Load(ctx context.Context) (*Params, error)
	// Update loads the current parameters, calls fn with a copy, validates
	// the result and saves it atomically, then notifies subscribers. If fn
	// returns an error, validation fails (*ValidationError) or saving
	// fails, nothing is stored and no one is notified. An update that
	// changes nothing saves nothing and returns an empty Change.
	Update(ctx context.Context, fn func(*Params) error) (Change, error)
	// Subscribe registers fn to be called with every saved change, in
	// order, one call at a time. fn must not call Update synchronously.
	// The returned function unsubscribes; it is idempotent.
	Subscribe(fn func(Change)) (unsubscribe func())
	// Close releases the store. It is idempotent.
	Close() error
}

// Forget applies the seed's "Forget" button to section ("cloud" or
// "web_server") through any Store.
func Forget(ctx context.Context, s Store, section string) (Change, error) {
	return s.Update(ctx, func(p *Params) error { return p.Forget(section) })
}

// Subscribers is the subscriber list a Store implementation embeds: it
// delivers changes in order, one at a time, to every subscriber. The zero
// value is ready to use and safe for concurrent use.
type Subscribers struct {
	mu     sync.Mutex // guards next, fns
	next   int
	fns    map[int]func(Change)
	callMu sync.Mutex // serialises Notify so changes arrive in order
}

// Subscribe adds fn and returns an idempotent function that removes it.
func (s *Subscribers) Subscribe(fn func(Change)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = map[int]func(Change){}
	}
	id := s.next
	s.next++
	s.fns[id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.fns, id)
			s.mu.Unlock()
		})
	}
}

// Notify calls every subscriber with c, in subscription order. Calls from
// concurrent Notify invocations do not interleave.
func (s *Subscribers) Notify(c Change) {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	s.notifyHeld(c)
}

// notifyHeld is Notify for a caller that already holds callMu.
func (s *Subscribers) notifyHeld(c Change) {
	s.mu.Lock()
	ids := make([]int, 0, len(s.fns))
	for id := range s.fns {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	fns := make([]func(Change), 0, len(ids))
	for _, id := range ids {
		fns = append(fns, s.fns[id])
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}
