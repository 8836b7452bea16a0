package sysparams

import (
	"context"
	"sync"
)

// Watch keeps a live object in step with the parameters: it calls build
// with the current parameters now, and again after every saved change
// that touches one of prefixes (sections such as "email" or field paths
// such as "email.o365"; every change when prefixes is empty). build
// replaces the host's object (a new mail sender for the queue, a new
// normalizer, a new HTTP client) instead of waiting for a restart.
//
// The first build's error is returned and nothing is watched. A later
// build error goes to onErr (nil ignores it) and the host keeps its
// previous object. Builds never run concurrently and follow the order of
// the changes. stop unsubscribes; it is idempotent.
func Watch(ctx context.Context, s Store, prefixes []string, build func(*Params) error, onErr func(error)) (stop func(), err error) {
	var mu sync.Mutex // serializes build
	touches := func(c Change) bool {
		if len(prefixes) == 0 {
			return !c.Empty()
		}
		for _, p := range prefixes {
			if c.Has(p) {
				return true
			}
		}
		return false
	}
	unsub := s.Subscribe(func(c Change) {
		if !touches(c) || c.New == nil {
			return
		}
		p, err := c.New.Clone()
		if err == nil {
			mu.Lock()
			err = build(p)
			mu.Unlock()
		}
		if err != nil && onErr != nil {
			onErr(err)
		}
	})
	p, err := s.Load(ctx)
	if err == nil {
		mu.Lock()
		err = build(p)
		mu.Unlock()
	}
	if err != nil {
		unsub()
		return nil, err
	}
	return unsub, nil
}
