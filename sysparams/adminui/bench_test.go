package adminui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// benchHandler is a handler over a file store, with a CSRF cookie and
// token ready for POSTs, called in-process (no network).
func benchHandler(b *testing.B) (http.Handler, *sysparams.FileStore, *http.Cookie, string) {
	b.Helper()
	store, err := sysparams.OpenFile(context.Background(), filepath.Join(b.TempDir(), "params.json"), sysparams.FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	if _, err := store.Update(context.Background(), func(p *sysparams.Params) error {
		p.Telephony = sysparams.Telephony{SystemName: "HQ", PBXAddress: "10.0.0.1"}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	h, err := adminui.New(store, adminui.Options{Authorize: func(*http.Request) bool { return true }, Hostname: fixedHost})
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/telephony", nil))
	m := tokenRE.FindStringSubmatch(rec.Body.String())
	if m == nil || len(rec.Result().Cookies()) == 0 {
		b.Fatal("no token")
	}
	return h, store, rec.Result().Cookies()[0], m[1]
}

// BenchmarkSave compares a save through the admin page (form parsing,
// CSRF check, Store.Update, redirect) with the baseline a host would
// otherwise write: Store.Update with the same change. Both write the file
// durably (fsync), which dominates.
func BenchmarkSave(b *testing.B) {
	b.Run("store_update_baseline", func(b *testing.B) {
		_, store, _, _ := benchHandler(b)
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			name := fmt.Sprintf("HQ-%d", i)
			if _, err := store.Update(ctx, func(p *sysparams.Params) error { p.Telephony.SystemName = name; return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("admin_page_post", func(b *testing.B) {
		h, _, cookie, tok := benchHandler(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			form := url.Values{"csrf_token": {tok}, "telephony.system_name": {fmt.Sprintf("HQ-%d", i)}, "telephony.pbx_address": {"10.0.0.1"}}
			req := httptest.NewRequest(http.MethodPost, "/telephony", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

// BenchmarkRender measures rendering the largest page (email) against
// the baseline of loading the parameters it shows.
func BenchmarkRender(b *testing.B) {
	h, store, cookie, _ := benchHandler(b)
	b.Run("store_load_baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := store.Load(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("email_page", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "/email", nil)
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
