package authchain

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore counts writes to a MemoryStore.
type countingStore struct {
	*MemoryStore
	touches atomic.Int32
}

func (s *countingStore) Touch(ctx context.Context, id string, a, b time.Time) error {
	s.touches.Add(1)
	return s.MemoryStore.Touch(ctx, id, a, b)
}

func newTestManager(t *testing.T, cfg SessionConfig) (*Manager, *countingStore, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	st := &countingStore{MemoryStore: NewMemoryStore()}
	m, err := NewManagerWithOptions(cfg, st, ManagerOptions{Now: clk.Now})
	require.NoError(t, err)
	return m, st, clk
}

func cookieOf(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			found = c
		}
	}
	return found
}

func login(t *testing.T, m *Manager, remember bool, prev *http.Cookie) (*Session, *http.Cookie, *httptest.ResponseRecorder) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "https://portal.example/login", nil)
	if prev != nil {
		req.AddCookie(prev)
	}
	s, err := m.Login(context.Background(), rec, req, User{Login: "alice", Roles: []string{"admin"}}, remember)
	require.NoError(t, err)
	c := cookieOf(t, rec, DefaultCookieName)
	require.NotNil(t, c)
	return s, c, rec
}

// visit sends one request with cookie c through the middleware and returns
// the session the handler saw.
func visit(m *Manager, c *http.Cookie) (*Session, *httptest.ResponseRecorder) {
	var seen *Session
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = FromContext(r.Context())
	}))
	req := httptest.NewRequest("GET", "https://portal.example/", nil)
	if c != nil {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return seen, rec
}

func TestLoginCookieAndStore(t *testing.T) {
	m, st, _ := newTestManager(t, DefaultSessionConfig())
	s, c, rec := login(t, m, true, nil)
	require.True(t, c.Secure)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.Equal(t, "/", c.Path)
	require.Empty(t, c.Domain)
	require.Equal(t, int((8 * Day).Seconds()), c.MaxAge)
	require.Len(t, c.Value, 43, "32 bytes, unpadded base64url")
	require.Equal(t, HashToken(c.Value), s.ID)
	require.Contains(t, rec.Header().Get("Cache-Control"), "Set-Cookie")
	// The store never sees the token.
	got, err := st.Get(context.Background(), s.ID)
	require.NoError(t, err)
	require.NotContains(t, got.ID, c.Value)
	b, _ := json.Marshal(got)
	require.NotContains(t, string(b), c.Value)
	require.Equal(t, []string{"admin"}, got.Roles)

	// Not remembered: browser-session cookie and the short idle timeout.
	s2, c2, _ := login(t, m, false, nil)
	require.Zero(t, c2.MaxAge)
	require.True(t, c2.Expires.IsZero())
	require.Equal(t, time.Hour, s2.IdleExpiresAt.Sub(s2.CreatedAt))
}

func TestRememberUserOff(t *testing.T) {
	cfg := DefaultSessionConfig()
	cfg.RememberUser = false
	m, _, _ := newTestManager(t, cfg)
	s, c, _ := login(t, m, true, nil)
	require.False(t, s.Remember)
	require.Zero(t, c.MaxAge)
}

func TestLoginReplacesExistingSession(t *testing.T) {
	m, st, _ := newTestManager(t, DefaultSessionConfig())
	s1, c1, _ := login(t, m, true, nil)
	s2, c2, _ := login(t, m, true, c1)
	require.NotEqual(t, c1.Value, c2.Value)
	_, err := st.Get(context.Background(), s1.ID)
	require.ErrorIs(t, err, ErrSessionNotFound, "the pre-login token is dead (no fixation)")
	seen, _ := visit(m, c2)
	require.NotNil(t, seen)
	require.Equal(t, s2.ID, seen.ID)
	require.Equal(t, 1, st.Len())
}

func TestMiddlewareSlidingAndThrottled(t *testing.T) {
	m, st, clk := newTestManager(t, DefaultSessionConfig())
	_, c, _ := login(t, m, true, nil)
	for i := 0; i < 50; i++ {
		seen, _ := visit(m, c)
		require.NotNil(t, seen)
		clk.Add(time.Second)
	}
	require.Equal(t, int32(0), st.touches.Load(), "no write within the touch interval")
	clk.Add(time.Minute)
	_, rec := visit(m, c)
	require.Equal(t, int32(1), st.touches.Load())
	refreshed := cookieOf(t, rec, DefaultCookieName)
	require.NotNil(t, refreshed, "a persistent cookie is extended on touch")
	require.Equal(t, c.Value, refreshed.Value)

	// Active every 7 days: the 8-day sliding window keeps the session alive
	// until the 30-day absolute cap.
	for day := 7; day < 30; day += 7 {
		clk.Add(7 * Day)
		seen, _ := visit(m, c)
		require.NotNil(t, seen, "day %d", day)
	}
	clk.Add(3 * Day)
	seen, rec := visit(m, c)
	require.Nil(t, seen, "absolute lifetime reached")
	cleared := cookieOf(t, rec, DefaultCookieName)
	require.NotNil(t, cleared)
	require.Less(t, cleared.MaxAge, 0)
	require.Equal(t, 0, st.Len())
}

func TestInactivityExpiry(t *testing.T) {
	m, _, clk := newTestManager(t, DefaultSessionConfig())
	_, c, _ := login(t, m, true, nil)
	clk.Add(8*Day - time.Second)
	seen, _ := visit(m, c)
	require.NotNil(t, seen)
	clk.Add(8 * Day)
	seen, _ = visit(m, c)
	require.Nil(t, seen)

	_, c2, _ := login(t, m, false, nil)
	clk.Add(time.Hour)
	seen, _ = visit(m, c2)
	require.Nil(t, seen, "browser sessions expire after the short idle timeout")
}

func TestRenewAndLogout(t *testing.T) {
	m, st, _ := newTestManager(t, DefaultSessionConfig())
	s1, c1, _ := login(t, m, true, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "https://portal.example/elevate", nil)
	req.AddCookie(c1)
	s2, err := m.Renew(context.Background(), rec, req)
	require.NoError(t, err)
	c2 := cookieOf(t, rec, DefaultCookieName)
	require.NotEqual(t, c1.Value, c2.Value)
	require.Equal(t, s1.CreatedAt, s2.CreatedAt)
	seen, _ := visit(m, c1)
	require.Nil(t, seen, "old token is dead after renew")
	seen, _ = visit(m, c2)
	require.NotNil(t, seen)

	rec = httptest.NewRecorder()
	req = httptest.NewRequest("POST", "https://portal.example/logout", nil)
	req.AddCookie(c2)
	require.NoError(t, m.Logout(context.Background(), rec, req))
	require.Less(t, cookieOf(t, rec, DefaultCookieName).MaxAge, 0)
	require.Equal(t, 0, st.Len())
	seen, _ = visit(m, c2)
	require.Nil(t, seen)
	require.ErrorIs(t, m.Logout(context.Background(), httptest.NewRecorder(), req), ErrNoSession)
	_, err = m.Renew(context.Background(), httptest.NewRecorder(), req)
	require.ErrorIs(t, err, ErrNoSession)
}

func TestRequireSession(t *testing.T) {
	m, _, _ := newTestManager(t, DefaultSessionConfig())
	h := m.Middleware(RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	_, c, _ := login(t, m, false, nil)
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(c)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNoContent, rec.Code)
	// A forged cookie of the right shape is refused.
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: strings.Repeat("A", 43)})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestSessionConfigValidate(t *testing.T) {
	require.NoError(t, SessionConfig{}.Validate())
	require.NoError(t, DefaultSessionConfig().Validate())
	d := func(s string) Duration { v, err := ParseDuration(s); require.NoError(t, err); return v }
	cases := map[string]struct {
		cfg  SessionConfig
		want string
	}{
		"30d ok":         {SessionConfig{InactivityTimeout: d("30d")}, ""},
		"30d+1s":         {SessionConfig{InactivityTimeout: d("30d1s"), AbsoluteLifetime: d("60d")}, "inactivity_timeout: must be > 0 and <= 30d, got 30d1s"},
		"negative":       {SessionConfig{InactivityTimeout: -1}, "inactivity_timeout: must be > 0"},
		"short idle":     {SessionConfig{ShortIdleTimeout: d("31d")}, "short_idle_timeout"},
		"absolute small": {SessionConfig{InactivityTimeout: d("10d"), AbsoluteLifetime: d("9d")}, "absolute_lifetime: must be at least inactivity_timeout (10d), got 9d"},
		"absolute huge":  {SessionConfig{AbsoluteLifetime: d("400d")}, "absolute_lifetime: must be > 0 and <= 365d"},
		"touch too long": {SessionConfig{TouchInterval: d("2h")}, "touch_interval: must be shorter than short_idle_timeout"},
		"touch negative": {SessionConfig{TouchInterval: -1}, "touch_interval: must not be negative"},
		"bad cookie":     {SessionConfig{CookieName: "a b"}, "cookie_name: must be a cookie token"},
		"secure prefix":  {SessionConfig{CookieName: "__Secure-x"}, "cookie_name: use the __Host- prefix"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.cfg.Validate()
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.want)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
		})
	}
	// Several problems are reported at once.
	err := SessionConfig{InactivityTimeout: -1, CookieName: "a b"}.Validate()
	require.ErrorContains(t, err, "inactivity_timeout")
	require.ErrorContains(t, err, "cookie_name")
	_, err = NewManager(SessionConfig{InactivityTimeout: d("31d"), AbsoluteLifetime: d("60d")}, NewMemoryStore())
	require.Error(t, err)
}

func TestSessionConfigJSON(t *testing.T) {
	var c SessionConfig
	require.NoError(t, json.Unmarshal([]byte(`{"inactivity_timeout":"10d"}`), &c))
	require.True(t, c.RememberUser, "remember_user defaults to true")
	require.Equal(t, 10*Day, c.InactivityTimeout.D())
	require.Equal(t, time.Hour, c.ShortIdleTimeout.D())
	require.NoError(t, json.Unmarshal([]byte(`{"remember_user":false,"inactivity_timeout":"192h"}`), &c))
	require.False(t, c.RememberUser)
	require.Equal(t, 8*Day, c.InactivityTimeout.D())
	b, err := json.Marshal(DefaultSessionConfig())
	require.NoError(t, err)
	require.JSONEq(t, `{"remember_user":true,"inactivity_timeout":"8d","short_idle_timeout":"1h0m0s","absolute_lifetime":"30d","cookie_name":"__Host-ucx_session","touch_interval":"1m0s"}`, string(b))
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore()
	now := time.Now()
	s := Session{ID: HashToken("t1"), Login: "a", CreatedAt: now, LastSeen: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(2 * time.Hour)}
	require.NoError(t, st.Create(ctx, s))
	require.ErrorIs(t, st.Create(ctx, s), ErrSessionExists)
	require.Error(t, st.Create(ctx, Session{}))
	s2 := s
	s2.ID = HashToken("t2")
	s2.IdleExpiresAt = now.Add(-time.Second)
	require.NoError(t, st.Create(ctx, s2))
	n, err := st.DeleteExpired(ctx, now)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, st.Touch(ctx, s.ID, now.Add(time.Minute), now.Add(3*time.Hour)))
	got, err := st.Get(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, now.Add(2*time.Hour), got.ExpiresAt(), "absolute cap wins")
	require.ErrorIs(t, st.Touch(ctx, "nope", now, now), ErrSessionNotFound)
	n, err = st.DeleteUser(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.ErrorIs(t, st.Delete(ctx, s.ID), ErrSessionNotFound)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = st.Get(cctx, s.ID)
	require.ErrorIs(t, err, context.Canceled)
}
