package adminui

import (
	"io/fs"
	"net/http"
)

// Static returns a handler for the embedded assets (the stylesheet,
// "style.css"), for a host that styles its own pages, such as a login
// form, like the admin pages. Mount it with http.StripPrefix. The assets
// hold no data, so the handler asks no Authorize; the admin pages serve
// the same files under BasePath + "/static/".
func Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.FileServerFS(sub)
}
