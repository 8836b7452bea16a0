// Package adminui is an embeddable admin web UI for the System Parameters
// (sysparams): one http.Handler a host mounts under its admin menu.
//
// # What it serves
//
// The section list ("System parameters" with a "Set »" link per section)
// and one page per section of the vendor's admin guide: IP telephony,
// outgoing email (SMTP or Office 365, with "Test connection" showing each
// step and the one that failed), numbering plan ("use default settings"
// and an explain tool that traces a number step by step), users
// authentication order and session settings, proxy (HTTP and SOCKS), the
// secure communications certificate (status, expiry, fingerprint, .pem
// download, generate/regenerate), cloud services credentials ("Credentials
// saved using Client ID: …" and "Forget") and the web server URL (with
// "Forget").
//
// Pages are server-rendered html/template with embedded assets (embed);
// there is no JavaScript at all, every control is a plain form with a
// label. A refused save shows the form again with each problem of
// sysparams.Params.Validate next to its field and all of them in a
// summary at the top (HTTP 422); a successful save redirects (303) to the
// page, which then shows "Saved" and the restart warning the change
// requires (sysparams.Change.Notes: restart each service after telephony
// changes, reboot after proxy changes).
//
// # Security
//
//   - Access: Options.Authorize is required and is asked first for every
//     request, assets included. Refused requests get 403 (or
//     Options.Unauthorized, for example a redirect to a login page).
//   - CSRF: every POST needs a form token that is the HMAC-SHA256 of the
//     nonce in an HttpOnly, SameSite=Strict cookie ("__Host-" prefixed
//     and Secure over TLS), compared in constant time (signed
//     double-submit cookie); http.CrossOriginProtection additionally
//     refuses cross-origin browser requests. A missing or wrong token is
//     403 and changes nothing. GET and HEAD never change state; a GET of
//     a POST-only endpoint is 405.
//   - Secrets (email.password, email.o365.client_secret, proxy passwords,
//     cloud.client_secret) are never sent to the browser: password inputs
//     are always empty, an empty input keeps the stored value ("leave empty
//     to keep"), a "Remove the stored value" checkbox or "Forget" clears
//     it. Error messages come from Validate, which never quotes a secret.
//   - A stored secret is only sent to the destination it was saved for:
//     a form that changes email.server, the Office 365 login or server
//     URL or cloud, or a proxy address, with the password input empty,
//     is refused with "type it again" (nothing is saved, "Test
//     connection" connects nowhere); when the secret is no longer used,
//     it is dropped instead. So nobody with access to the pages can have
//     a stored password delivered to a server of theirs.
//   - The "Saved." notice and restart warnings after a redirect carry a
//     keyed signature bound to the page; a crafted link shows none.
//   - Paths that are not canonical (dot segments, "//", backslash) are
//     404, never a redirect; /static/ lists nothing.
//   - Every response carries Content-Security-Policy (default-src 'none';
//     this origin's stylesheet and form targets only; no script),
//     X-Frame-Options DENY, Referrer-Policy no-referrer, Cache-Control
//     no-store and X-Content-Type-Options nosniff.
//   - Form bodies are limited to 64 KiB.
//
// # Failure semantics
//
// Saves go through Store.Update: a form that does not convert or does not
// validate stores nothing (the parameter file stays byte-identical); a
// store failure is a 500 page naming the problem. Every section form
// carries a keyed stamp of the section as it was stored when the page was
// rendered; a save whose section was changed by someone else in the
// meantime is refused with 409 and the current values (no lost update).
// A post without a stamp (a script) is applied as it comes. Saving one section
// validates the whole set, so problems of other sections (telephony not
// configured yet) are listed with links to their pages. The certificate
// page only inspects the certificate; it is created or renewed only by
// the explicit Generate/Regenerate button.
//
// # What it does not do
//
// It does not authenticate users (the host's Authorize decides, see
// examples/adminui for an authchain session with an admin role), does not
// serve TLS itself, does not keep an audit trail beyond its log records,
// and does not edit the certificate folder, Office 365 graph_url or the
// proxy CA settings (set them in the parameter file or with ucxparams).
package adminui
