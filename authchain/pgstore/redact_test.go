package pgstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestConnectErrorsHideThePassword checks that a DSN's password never
// appears in Connect's errors, and that Options print no secret in any
// form (they hold none; the DSN is not part of them).
func TestConnectErrorsHideThePassword(t *testing.T) {
	const pw = "Sup3r-Secret-DB-pw"
	for _, dsn := range []string{
		"postgres://ucx:" + pw + "@127.0.0.1:1/db?sslmode=bogus",
		"postgres://ucx:" + pw + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=ucx password=" + pw + " sslmode=disable connect_timeout=2",
		"postgres://ucx:" + pw + "@127.0.0.1:1/db?connect_timeout=x",
	} {
		_, err := Connect(context.Background(), dsn, Options{})
		if err == nil {
			t.Fatalf("Connect(%q) succeeded", strings.ReplaceAll(dsn, pw, "***"))
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Error("connect", "err", err)
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), buf.String()} {
			if strings.Contains(s, pw) {
				t.Fatalf("password in error output: %s", strings.ReplaceAll(s, pw, "***"))
			}
		}
	}
	o := Options{}
	j, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	_ = fmt.Sprintf("%v %+v %#v %s", o, o, o, j)
}
