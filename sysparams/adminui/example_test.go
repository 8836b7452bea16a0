package adminui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// A host mounts the pages under its admin menu and decides who may use
// them. Here a header stands in for the host's session check (see
// examples/adminui for an authchain session with an admin role).
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "adminui-example-")
	defer os.RemoveAll(dir)
	store, err := sysparams.OpenFile(context.Background(), filepath.Join(dir, "params.json"), sysparams.FileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	pages, err := adminui.New(store, adminui.Options{
		Authorize: func(r *http.Request) bool { return r.Header.Get("X-Role") == "admin" },
		BasePath:  "/admin/params",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/params/", pages)

	for _, role := range []string{"user", "admin"} {
		req := httptest.NewRequest(http.MethodGet, "/admin/params/", nil)
		req.Header.Set("X-Role", role)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		body := rec.Body.String()
		fmt.Println(role, rec.Code, strings.Contains(body, `href="/admin/params/email"`), rec.Header().Get("X-Frame-Options"))
	}
	// Output:
	// user 403 false DENY
	// admin 200 true DENY
}

// Without an Authorize hook there is no handler: the pages hold
// credentials, so nothing lets everyone in by default.
func ExampleNew_authorizeRequired() {
	store, _ := sysparams.OpenFile(context.Background(), filepath.Join(os.TempDir(), "adminui-never-written.json"), sysparams.FileOptions{})
	defer store.Close()
	_, err := adminui.New(store, adminui.Options{})
	fmt.Println(err)
	// Output:
	// adminui: options.authorize is required
}
