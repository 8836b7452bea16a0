package numplan

import "sync"

type cacheKey struct {
	dir     Direction
	number  string
	primary string
}

// cache is a bounded two-generation cache: lookups hit the current or the
// previous generation (promoting), and when the current generation is
// full it becomes the previous one and the oldest is dropped. It keeps at
// most size entries with O(1) work per call and no per-entry bookkeeping.
type cache struct {
	mu       sync.Mutex // guards cur, prev
	cur      map[cacheKey]Result
	prev     map[cacheKey]Result
	genLimit int
}

func newCache(size int) *cache {
	g := size / 2
	if g < 1 {
		g = 1
	}
	return &cache{cur: make(map[cacheKey]Result, g), genLimit: g}
}

func (c *cache) get(k cacheKey) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.cur[k]; ok {
		return r, true
	}
	if r, ok := c.prev[k]; ok {
		c.putLocked(k, r)
		return r, true
	}
	return Result{}, false
}

func (c *cache) put(k cacheKey, r Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, r)
}

func (c *cache) putLocked(k cacheKey, r Result) {
	if len(c.cur) >= c.genLimit {
		c.prev = c.cur
		c.cur = make(map[cacheKey]Result, c.genLimit)
	}
	c.cur[k] = r
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}
