package pgstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/pgtest"
	"github.com/ucxkit/ucxkit/sysparams"
)

const plainPassword = "s3cret-Pa55word-for-the-test"

func testKeyring(t testing.TB) *sysparams.Keyring {
	t.Helper()
	k, err := sysparams.NewKeyring("cluster1", []byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	return k
}

// setBase makes a valid set: telephony is mandatory.
func setBase(p *sysparams.Params) error {
	p.Telephony.SystemName = "UC cluster"
	p.Telephony.PBXAddress = "pbx.example.com"
	return nil
}

func setMail(p *sysparams.Params) error {
	_ = setBase(p)
	p.Email.Enabled = true
	p.Email.From = "uc@example.com"
	p.Email.Server = "smtp.example.com"
	p.Email.Port = 587
	p.Email.UseAuth = true
	p.Email.Username = "uc"
	p.Email.Password = sysparams.NewSecret(plainPassword)
	return nil
}

func TestRoundTripAcrossNodesSecretsSealed(t *testing.T) {
	dsn, schema := testSchema(t)
	keys := testKeyring(t)
	a := openNode(t, dsn, schema, Options{Keyring: keys, Node: "node-a"})
	b := openNode(t, dsn, schema, Options{Keyring: keys, Node: "node-b"})
	ctx := context.Background()

	p, err := b.store.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, sysparams.Defaults(), p, "a set never saved reads as the defaults")
	rev, err := b.store.Revision(ctx)
	require.NoError(t, err)
	assert.Zero(t, rev)

	c, err := a.store.Update(ctx, setMail)
	require.NoError(t, err)
	assert.Equal(t, int64(1), c.Revision)
	assert.Contains(t, c.Fields, "email.password")

	got, rev, err := b.store.LoadRevision(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), rev)
	assert.Equal(t, plainPassword, got.Email.Password.Reveal(), "node b opens the secret with the shared key")
	assert.Equal(t, "pbx.example.com", got.Telephony.PBXAddress)

	var doc, by string
	require.NoError(t, a.pool.QueryRow(ctx, `SELECT document::text, updated_by FROM ucxkit_sysparams WHERE name = 'default'`).Scan(&doc, &by))
	assert.NotContains(t, doc, plainPassword, "the stored document holds the secret sealed")
	assert.Contains(t, doc, `"email.password": "v1:cluster1:`)
	assert.Equal(t, "node-a", by)

	// An update that changes nothing saves nothing.
	c, err = b.store.Update(ctx, func(p *sysparams.Params) error { return nil })
	require.NoError(t, err)
	assert.True(t, c.Empty())
	assert.Equal(t, int64(1), c.Revision)
}

func TestKeyProblems(t *testing.T) {
	dsn, schema := testSchema(t)
	a := openNode(t, dsn, schema, Options{Keyring: testKeyring(t)})
	ctx := context.Background()
	_, err := a.store.Update(ctx, setMail)
	require.NoError(t, err)

	// Open reads the set, so a node without the key fails at Open.
	pool := pgtest.Pool(t, dsn, schema, 2)
	_, err = Open(ctx, pool, Options{})
	require.ErrorIs(t, err, sysparams.ErrKeyMissing)
	other, err := sysparams.GenerateKeyring()
	require.NoError(t, err)
	_, err = Open(ctx, pool, Options{Keyring: other})
	require.ErrorIs(t, err, sysparams.ErrKeyUnknown)

	// Saving a secret without a keyring fails and stores nothing.
	dsn2, schema2 := testSchema(t)
	n := openNode(t, dsn2, schema2, Options{})
	_, err = n.store.Update(ctx, setMail)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), plainPassword)
	rev, err := n.store.Revision(ctx)
	require.NoError(t, err)
	assert.Zero(t, rev)
	_, err = n.store.Update(ctx, setBase)
	require.NoError(t, err, "a set without secrets needs no key")
}

func TestConcurrentUpdatesFromTwoNodesOneConflicts(t *testing.T) {
	dsn, schema := testSchema(t)
	keys := testKeyring(t)
	a := openNode(t, dsn, schema, Options{Keyring: keys})
	b := openNode(t, dsn, schema, Options{Keyring: keys})
	ctx := context.Background()
	_, err := a.store.Update(ctx, setBase)
	require.NoError(t, err)

	// Both nodes read revision 1 before either saves.
	var read sync.WaitGroup
	read.Add(2)
	update := func(s *Store, name string) (sysparams.Change, error) {
		return s.Update(ctx, func(p *sysparams.Params) error {
			p.Telephony.SystemName = name
			read.Done()
			read.Wait()
			return nil
		})
	}
	type result struct {
		c   sysparams.Change
		err error
	}
	ra, rb := make(chan result, 1), make(chan result, 1)
	go func() { c, err := update(a.store, "from A"); ra <- result{c, err} }()
	go func() { c, err := update(b.store, "from B"); rb <- result{c, err} }()
	resA, resB := <-ra, <-rb

	wins, conflicts := 0, 0
	var winner string
	for name, r := range map[string]result{"from A": resA, "from B": resB} {
		if r.err == nil {
			wins++
			winner = name
			assert.Equal(t, int64(2), r.c.Revision)
			continue
		}
		conflicts++
		require.ErrorIs(t, r.err, sysparams.ErrConflict)
		var ce *ConflictError
		require.ErrorAs(t, r.err, &ce)
		assert.Equal(t, int64(1), ce.Base)
		assert.Equal(t, int64(2), ce.Current)
		assert.Equal(t, "default", ce.Name)
	}
	require.Equal(t, 1, wins)
	require.Equal(t, 1, conflicts)
	p, rev, err := a.store.LoadRevision(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), rev)
	assert.Equal(t, winner, p.Telephony.SystemName, "the winner's change is stored, the loser's rejected")
}

func TestUpdateRevisionRejectsStaleEdit(t *testing.T) {
	dsn, schema := testSchema(t)
	a := openNode(t, dsn, schema, Options{})
	b := openNode(t, dsn, schema, Options{})
	ctx := context.Background()
	_, err := a.store.Update(ctx, setBase)
	require.NoError(t, err)

	_, formRev, err := b.store.LoadRevision(ctx) // admin opens the form on node B
	require.NoError(t, err)
	_, err = a.store.Update(ctx, func(p *sysparams.Params) error { p.Telephony.PBXAddress = "10.0.0.1"; return nil })
	require.NoError(t, err)

	_, err = b.store.UpdateRevision(ctx, formRev, func(p *sysparams.Params) error { p.Telephony.SystemName = "stale"; return nil })
	var ce *ConflictError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, sysparams.ErrConflict)
	assert.Equal(t, ConflictError{Name: "default", Base: 1, Current: 2}, *ce)
	assert.Contains(t, err.Error(), "reload and retry")

	p, err := a.store.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "UC cluster", p.Telephony.SystemName)
	assert.Equal(t, "10.0.0.1", p.Telephony.PBXAddress)

	c, err := b.store.UpdateRevision(ctx, 2, func(p *sysparams.Params) error { p.Telephony.SystemName = "fresh"; return nil })
	require.NoError(t, err)
	assert.Equal(t, int64(3), c.Revision)
	_, err = b.store.UpdateRevision(ctx, -1, setBase)
	require.Error(t, err)
}

func TestFirstSaveRace(t *testing.T) {
	dsn, schema := testSchema(t)
	a := openNode(t, dsn, schema, Options{})
	b := openNode(t, dsn, schema, Options{})
	ctx := context.Background()
	_, err := a.store.UpdateRevision(ctx, 0, setBase)
	require.NoError(t, err)
	_, err = b.store.UpdateRevision(ctx, 0, setBase)
	require.ErrorIs(t, err, sysparams.ErrConflict, "two nodes creating the set: the second is refused")
}

func TestRejectedUpdateStoresNothing(t *testing.T) {
	dsn, schema := testSchema(t)
	a := openNode(t, dsn, schema, Options{})
	ctx := context.Background()
	var calls int
	a.store.Subscribe(func(sysparams.Change) { calls++ })
	_, err := a.store.Update(ctx, func(p *sysparams.Params) error { p.Email.Port = 70000; return nil })
	var ve *sysparams.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), "email.port")
	boom := errors.New("boom")
	_, err = a.store.Update(ctx, func(*sysparams.Params) error { return boom })
	require.ErrorIs(t, err, boom)
	rev, err := a.store.Revision(ctx)
	require.NoError(t, err)
	assert.Zero(t, rev)
	assert.Zero(t, calls)
}

func TestChangeReachesOtherNodeWithinASecond(t *testing.T) {
	dsn, schema := testSchema(t)
	keys := testKeyring(t)
	a := openNode(t, dsn, schema, Options{Keyring: keys})
	b := openNode(t, dsn, schema, Options{Keyring: keys})
	// A store on another schema and one for another set must not hear it.
	dsn2, schema2 := testSchema(t)
	elsewhere := openNode(t, dsn2, schema2, Options{Keyring: keys})
	otherSet := openNode(t, dsn, schema, Options{Keyring: keys, Name: "site-2"})
	ctx := context.Background()

	gotB := make(chan sysparams.Change, 4)
	unsub := b.store.Subscribe(func(c sysparams.Change) { gotB <- c })
	gotA := make(chan sysparams.Change, 4)
	a.store.Subscribe(func(c sysparams.Change) { gotA <- c })
	stray := make(chan sysparams.Change, 4)
	elsewhere.store.Subscribe(func(c sysparams.Change) { stray <- c })
	otherSet.store.Subscribe(func(c sysparams.Change) { stray <- c })

	start := time.Now()
	_, err := a.store.Update(ctx, setMail)
	require.NoError(t, err)
	select {
	case c := <-gotB:
		t.Logf("node B heard revision %d after %s", c.Revision, time.Since(start))
		assert.Equal(t, int64(1), c.Revision)
		assert.True(t, c.Has("email"))
		assert.True(t, c.Has("telephony"))
		assert.Equal(t, sysparams.RestartServices, c.Restart)
		assert.Equal(t, plainPassword, c.New.Email.Password.Reveal())
	case <-time.After(time.Second):
		t.Fatal("node B's subscriber did not see node A's change within a second")
	}
	select {
	case c := <-gotA:
		assert.Equal(t, int64(1), c.Revision, "the writer's own subscribers hear it once")
	default:
		t.Fatal("node A's subscriber was not called before Update returned")
	}

	// Second change, in order; unsubscribed functions hear nothing.
	_, err = b.store.Update(ctx, func(p *sysparams.Params) error { p.Email.Port = 465; return nil })
	require.NoError(t, err)
	c := <-gotB
	assert.Equal(t, int64(2), c.Revision)
	assert.Equal(t, []string{"email.port"}, c.Fields)
	select {
	case c := <-gotA:
		assert.Equal(t, int64(2), c.Revision)
		assert.Equal(t, 587, c.Old.Email.Port)
		assert.Equal(t, 465, c.New.Email.Port)
	case <-time.After(time.Second):
		t.Fatal("node A did not hear node B's change within a second")
	}
	unsub()
	unsub()
	_, err = a.store.Update(ctx, func(p *sysparams.Params) error { p.Email.Port = 2525; return nil })
	require.NoError(t, err)
	select {
	case c := <-gotB:
		t.Fatalf("unsubscribed function called with %v", c.Revision)
	case <-time.After(200 * time.Millisecond):
	}
	select {
	case c := <-stray:
		t.Fatalf("a store of another schema or set heard revision %d", c.Revision)
	default:
	}
	select {
	case <-gotA:
	default:
	}
}

func TestListenerReconnects(t *testing.T) {
	dsn, schema := testSchema(t)
	a := openNode(t, dsn, schema, Options{})
	b := openNode(t, dsn, schema, Options{PollInterval: time.Hour})
	ctx := context.Background()
	got := make(chan sysparams.Change, 4)
	b.store.Subscribe(func(c sysparams.Change) { got <- c })

	// Cut node B's listening connection, then change the set while it is
	// away: B must catch up when it reconnects.
	var n int
	require.NoError(t, a.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND query LIKE 'LISTEN%'`, b.app).Scan(&n))
	require.Equal(t, 1, n, "node B has one listening connection")
	_, err := a.store.Update(ctx, setBase)
	require.NoError(t, err)
	select {
	case c := <-got:
		assert.Equal(t, int64(1), c.Revision)
		assert.True(t, c.Has("telephony"))
	case <-time.After(15 * time.Second):
		t.Fatal("node B did not catch up after losing its listening connection")
	}
}

func TestPollingWithoutListen(t *testing.T) {
	dsn, schema := testSchema(t)
	a := openNode(t, dsn, schema, Options{NoListen: true, PollInterval: -1})
	b := openNode(t, dsn, schema, Options{NoListen: true, PollInterval: 50 * time.Millisecond})
	got := make(chan sysparams.Change, 4)
	b.store.Subscribe(func(c sysparams.Change) { got <- c })
	_, err := a.store.Update(context.Background(), setBase)
	require.NoError(t, err)
	select {
	case c := <-got:
		assert.Equal(t, int64(1), c.Revision)
	case <-time.After(15 * time.Second):
		t.Fatal("polling node did not see the change")
	}
}

func TestResealWithRotatedKey(t *testing.T) {
	dsn, schema := testSchema(t)
	keys := testKeyring(t)
	a := openNode(t, dsn, schema, Options{Keyring: keys})
	ctx := context.Background()
	rev, err := a.store.Reseal(ctx)
	require.NoError(t, err)
	assert.Zero(t, rev, "nothing to reseal before the first save")
	_, err = a.store.Update(ctx, setMail)
	require.NoError(t, err)
	newID, err := keys.Rotate()
	require.NoError(t, err)
	rev, err = a.store.Reseal(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), rev)
	keys.Retire()
	var doc string
	require.NoError(t, a.pool.QueryRow(ctx, `SELECT document::text FROM ucxkit_sysparams`).Scan(&doc))
	assert.Contains(t, doc, "v1:"+newID+":")
	assert.NotContains(t, doc, "v1:cluster1:")
	p, err := a.store.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, plainPassword, p.Email.Password.Reveal())
}

func TestOptionsValidateAndClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"bad name", Options{Name: "a b"}, `name: must be 1-64`},
		{"long name", Options{Name: strings.Repeat("x", 65)}, `name: must be 1-64`},
		{"long node", Options{Node: strings.Repeat("x", 256)}, `node: must be at most 255`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var fe *FieldError
			assert.ErrorAs(t, err, &fe)
		})
	}
	require.NoError(t, Options{Name: "site-2.a_b"}.Validate())
	_, err := Open(context.Background(), nil, Options{})
	require.Error(t, err)

	dsn, schema := testSchema(t)
	a := openNode(t, dsn, schema, Options{})
	require.NoError(t, a.store.Close())
	require.NoError(t, a.store.Close())
	_, err = a.store.Load(context.Background())
	require.ErrorIs(t, err, sysparams.ErrClosed)
	_, err = a.store.Update(context.Background(), setBase)
	require.ErrorIs(t, err, sysparams.ErrClosed)
}

func TestMigrateIdempotentAndTooNew(t *testing.T) {
	dsn, schema := testSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Connect(context.Background(), pgtest.WithSearchPath(dsn, schema), Options{NoListen: true, PollInterval: -1})
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
	_, err := pool.Exec(context.Background(), `UPDATE ucxkit_schema_version SET version = 42 WHERE component = 'sysparams'`)
	require.NoError(t, err)
	_, err = Open(context.Background(), pool, Options{})
	require.ErrorIs(t, err, ErrSchemaTooNew)
}

func TestListenSurvivesPollTimeouts(t *testing.T) {
	dsn, schema := testSchema(t)
	a := openNode(t, dsn, schema, Options{})
	b := openNode(t, dsn, schema, Options{PollInterval: 20 * time.Millisecond})
	got := make(chan sysparams.Change, 4)
	b.store.Subscribe(func(c sysparams.Change) { got <- c })
	listener := func() []int32 {
		rows, err := a.pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE application_name = $1 AND query LIKE 'LISTEN%'`, b.app)
		require.NoError(t, err)
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		require.NoError(t, err)
		return pids
	}
	before := listener()
	require.Len(t, before, 1)
	time.Sleep(150 * time.Millisecond) // several timed-out waits on the listening connection
	assert.Equal(t, before, listener(), "the same listening connection is kept across poll timeouts")
	_, err := a.store.Update(context.Background(), setBase)
	require.NoError(t, err)
	select {
	case c := <-got:
		assert.Equal(t, int64(1), c.Revision)
	case <-time.After(time.Second):
		t.Fatal("no change within a second")
	}
}
