package adminui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// Paths with dot segments, doubled or back slashes never produce a
// redirect (the mux's cleaning redirect dropped BasePath, "/email"
// instead of "/admin/params/email", or came without a Location), and the
// static folder lists nothing.
func TestPathsStayUnderBasePath(t *testing.T) {
	store, err := sysparams.OpenFile(context.Background(), filepath.Join(t.TempDir(), "params.json"), sysparams.FileOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	for _, base := range []string{"", "/admin/params"} {
		h, err := adminui.New(store, adminui.Options{BasePath: base, Authorize: func(*http.Request) bool { return true }})
		require.NoError(t, err)
		for _, p := range []string{
			"/static/../email", "/static/%2e%2e/email", "/static/..%2femail", "/./email", "//evil.example",
			"/%2f%2fevil.example", "/static/..//evil.example", "/\\evil.example", "/email/", "/certificate/./cert.pem",
			"/certificate/../certificate/cert.pem", "/static/", "/static/style.css/",
		} {
			t.Run(base+p, func(t *testing.T) {
				for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest(m, base+p, nil))
					assert.Empty(t, rec.Header().Get("Location"), m)
					assert.Contains(t, []int{http.StatusNotFound, http.StatusForbidden, http.StatusMethodNotAllowed}, rec.Code, m)
					assert.NotContains(t, rec.Body.String(), "style.css</a>", "directory listing")
				}
			})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, base+"/static/style.css", nil))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css"))
	}
}
