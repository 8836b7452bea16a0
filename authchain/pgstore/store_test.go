package pgstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/internal/pgtest"
)

func session(token, login string, now time.Time, idle, abs time.Duration) authchain.Session {
	return authchain.Session{ID: authchain.HashToken(token), Login: login, Roles: []string{"admin", "operator"},
		Remember: true, CreatedAt: now, LastSeen: now, IdleExpiresAt: now.Add(idle), AbsoluteExpiresAt: now.Add(abs)}
}

func TestStoreContract(t *testing.T) {
	s, _, _ := testStore(t, Options{CleanupInterval: -1})
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	a := session("token-a", "alice", now, time.Hour, 24*time.Hour)
	require.NoError(t, s.Create(ctx, a))
	require.ErrorIs(t, s.Create(ctx, a), authchain.ErrSessionExists)

	got, err := s.Get(ctx, a.ID)
	require.NoError(t, err)
	want := a
	want.CreatedAt = now.Truncate(time.Microsecond)
	want.LastSeen = want.CreatedAt
	want.IdleExpiresAt = now.Add(time.Hour).Truncate(time.Microsecond)
	want.AbsoluteExpiresAt = now.Add(24 * time.Hour).Truncate(time.Microsecond)
	assert.Equal(t, want, got)

	later := now.Add(10 * time.Minute)
	require.NoError(t, s.Touch(ctx, a.ID, later, later.Add(time.Hour)))
	got, err = s.Get(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, later.Truncate(time.Microsecond), got.LastSeen)
	assert.Equal(t, later.Add(time.Hour).Truncate(time.Microsecond), got.IdleExpiresAt)

	unknown := authchain.HashToken("nobody")
	_, err = s.Get(ctx, unknown)
	require.ErrorIs(t, err, authchain.ErrSessionNotFound)
	require.ErrorIs(t, s.Touch(ctx, unknown, now, now), authchain.ErrSessionNotFound)
	require.ErrorIs(t, s.Delete(ctx, unknown), authchain.ErrSessionNotFound)

	// Sessions without roles read back as nil roles, like MemoryStore.
	b := session("token-b", "bob", now, time.Hour, time.Hour)
	b.Roles = nil
	require.NoError(t, s.Create(ctx, b))
	got, err = s.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Nil(t, got.Roles)

	require.NoError(t, s.Create(ctx, session("token-a2", "alice", now, time.Hour, time.Hour)))
	n, err := s.DeleteUser(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = s.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, s.Delete(ctx, b.ID))
	require.ErrorIs(t, s.Delete(ctx, b.ID), authchain.ErrSessionNotFound)
}

func TestRawTokensRefused(t *testing.T) {
	s, _, _ := testStore(t, Options{CleanupInterval: -1})
	ctx := context.Background()
	now := time.Now()
	for _, id := range []string{"", "raw-cookie-token", strings.Repeat("A", 64), strings.Repeat("a", 63), strings.Repeat("g", 64)} {
		ses := session("x", "alice", now, time.Hour, time.Hour)
		ses.ID = id
		require.ErrorIs(t, s.Create(ctx, ses), ErrInvalidID, "id %q", id)
		_, err := s.Get(ctx, id)
		require.ErrorIs(t, err, authchain.ErrSessionNotFound)
		require.ErrorIs(t, s.Delete(ctx, id), authchain.ErrSessionNotFound)
	}
	ses := session("x", "", now, time.Hour, time.Hour)
	require.Error(t, s.Create(ctx, ses))

	// The table holds the 32-byte hash, never the token.
	require.NoError(t, s.Create(ctx, session("the-cookie-token", "carol", now, time.Hour, time.Hour)))
	var raw []byte
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT id FROM ucxkit_sessions WHERE login = 'carol'`).Scan(&raw))
	assert.Len(t, raw, 32)
	assert.NotContains(t, string(raw), "the-cookie-token")
}

func TestDeleteExpiredUsesEarlierExpiry(t *testing.T) {
	s, _, _ := testStore(t, Options{CleanupInterval: -1})
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		token     string
		idle, abs time.Duration
	}{
		{"idle-over", time.Minute, time.Hour},         // idle expiry passed
		{"abs-over", 2 * time.Hour, 30 * time.Second}, // absolute expiry passed
		{"exact", time.Hour, 2 * time.Minute},         // expires exactly at the cut
		{"alive", time.Hour, 24 * time.Hour},
	} {
		require.NoError(t, s.Create(ctx, session(tc.token, "u-"+tc.token, now, tc.idle, tc.abs)))
	}
	n, err := s.DeleteExpired(ctx, now.Add(2*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	_, err = s.Get(ctx, authchain.HashToken("alive"))
	require.NoError(t, err)
	_, err = s.Get(ctx, authchain.HashToken("exact"))
	require.ErrorIs(t, err, authchain.ErrSessionNotFound)
}

func TestBackgroundCleanup(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, _, _ := testStore(t, Options{CleanupInterval: time.Second, Now: clock})
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, session("old", "alice", now, time.Minute, time.Hour)))
	require.NoError(t, s.Create(ctx, session("new", "bob", now, time.Hour, time.Hour)))
	mu.Lock()
	now = now.Add(30 * time.Minute)
	mu.Unlock()
	require.Eventually(t, func() bool {
		n, err := s.Count(ctx)
		return err == nil && n == 1
	}, 10*time.Second, 50*time.Millisecond)
	_, err := s.Get(ctx, authchain.HashToken("new"))
	require.NoError(t, err)
}

// TestSessionFromNodeAValidOnNodeB runs two Managers, each with its own
// pool and store, as two cluster nodes would.
func TestSessionFromNodeAValidOnNodeB(t *testing.T) {
	_, dsn, schema := testStore(t, Options{CleanupInterval: -1})
	ctx := context.Background()
	node := func() *authchain.Manager {
		st, err := Open(ctx, pgtest.Pool(t, dsn, schema, 2), Options{CleanupInterval: -1})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		m, err := authchain.NewManager(authchain.DefaultSessionConfig(), st)
		require.NoError(t, err)
		return m
	}
	a, b := node(), node()

	rec := httptest.NewRecorder()
	ses, err := a.Login(ctx, rec, httptest.NewRequest(http.MethodPost, "https://uc.example.com/login", nil),
		authchain.User{Login: "alice", Roles: []string{"admin"}}, true)
	require.NoError(t, err)
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)

	req := httptest.NewRequest(http.MethodGet, "https://uc.example.com/", nil)
	req.AddCookie(cookies[0])
	got, err := b.Lookup(ctx, req)
	require.NoError(t, err, "a session made on node A is valid on node B")
	assert.Equal(t, "alice", got.Login)
	assert.Equal(t, []string{"admin"}, got.Roles)
	assert.Equal(t, ses.ID, got.ID)

	// Logging out on node B ends it on node A.
	require.NoError(t, b.Logout(ctx, httptest.NewRecorder(), req))
	_, err = a.Lookup(ctx, req)
	require.ErrorIs(t, err, authchain.ErrNoSession)
}

func TestOptionsAndClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    time.Duration
		ok   bool
	}{
		{"default", 0, true}, {"off", -1, true}, {"too short", 10 * time.Millisecond, false}, {"minute", time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Options{CleanupInterval: tc.d}.Validate()
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "cleanup_interval: ")
			var fe *FieldError
			assert.ErrorAs(t, err, &fe)
		})
	}
	_, err := Open(context.Background(), nil, Options{})
	require.Error(t, err)

	s, _, _ := testStore(t, Options{})
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = s.Get(context.Background(), authchain.HashToken("x"))
	require.ErrorIs(t, err, ErrClosed)
}

func TestMigrateIdempotentAndTooNew(t *testing.T) {
	dsn, schema := testSchema(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Connect(ctx, pgtest.WithSearchPath(dsn, schema), Options{CleanupInterval: -1})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	pool := pgtest.Pool(t, dsn, schema, 2)
	_, err := pool.Exec(ctx, `UPDATE ucxkit_schema_version SET version = 7 WHERE component = 'authchain'`)
	require.NoError(t, err)
	_, err = Open(ctx, pool, Options{})
	require.ErrorIs(t, err, ErrSchemaTooNew)
}

func FuzzKey(f *testing.F) {
	f.Add(authchain.HashToken("x"))
	f.Add(strings.Repeat("A", 64))
	f.Add("")
	f.Fuzz(func(t *testing.T, id string) {
		k, ok := key(id)
		if !ok {
			return
		}
		if len(k) != 32 || authchainHex(k) != id {
			t.Fatalf("key(%q) = %x", id, k)
		}
	})
}
