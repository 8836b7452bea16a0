package pgstore

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ucxkit/ucxkit/internal/pgtest"
)

// schemaPrefix starts the name of each test's schema.
const schemaPrefix = "ucxkit_sp_test_"

// testSchema creates a fresh schema for the test and drops it at cleanup.
func testSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	return pgtest.Schema(t, schemaPrefix)
}

// node is one cluster node in a test: its own pool (tagged with an
// application_name, so a test can cut its connections) and store.
type node struct {
	app   string
	pool  *pgxpool.Pool
	store *Store
}

// openNode opens a store on schema through a new pool.
func openNode(t testing.TB, dsn, schema string, opts Options) *node {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	app := "ucxkit-test-" + pgtest.RandHex(4)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := Open(context.Background(), pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &node{app: app, pool: pool, store: s}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
