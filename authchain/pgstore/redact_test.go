package pgstore

import (
	"context"
	"testing"

	"github.com/ucxkit/ucxkit/internal/pgtest"
)

// TestConnectErrorsHideThePassword checks that a DSN's password never
// appears in Connect's errors, and that Options print no secret in any
// form (they hold none; the DSN is not part of them).
func TestConnectErrorsHideThePassword(t *testing.T) {
	pgtest.ConnectHidesPassword(t, func(ctx context.Context, dsn string) error {
		_, err := Connect(ctx, dsn, Options{})
		return err
	})
	pgtest.PrintsNoPassword(t, Options{})
}
