package adminui

import "errors"

// Sentinel errors. Inspect them with errors.Is.
var (
	// ErrNoStore is returned by New when the store is nil.
	ErrNoStore = errors.New("adminui: store is nil")
	// ErrNoAuthorize is returned by New when Options.Authorize is nil:
	// the pages hold credentials, so there is no default that lets
	// everyone in.
	ErrNoAuthorize = errors.New("adminui: options.authorize is required")
	// ErrBasePath is returned by New for a BasePath that is not an
	// absolute URL path without a trailing slash, query or fragment.
	ErrBasePath = errors.New("adminui: invalid base path")
	// ErrCSRF is the reason logged when a state-changing request carries no
	// valid CSRF token; the client gets 403.
	ErrCSRF = errors.New("adminui: missing or invalid CSRF token")
	// errStale refuses a save whose form was rendered from values that
	// have been changed since (answered with 409, never returned).
	errStale = errors.New("adminui: section changed since the form was loaded")
)
