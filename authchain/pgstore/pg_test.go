package pgstore

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/ucxkit/ucxkit/internal/pgtest"
)

// testSchema creates a fresh schema for the test and drops it at cleanup.
func testSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	return pgtest.Schema(t, "ucxkit_auth_test_")
}

// testStore opens a Store on a fresh schema.
func testStore(t testing.TB, opts Options) (*Store, string, string) {
	t.Helper()
	dsn, schema := testSchema(t)
	s, err := Open(context.Background(), pgtest.Pool(t, dsn, schema, 0), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dsn, schema
}

func authchainHex(b []byte) string { return hex.EncodeToString(b) }
