// Package authchain authenticates users of a unified-communications server
// through an ordered chain of methods (SSO > AD/LDAP > Cisco UCM > Local, as
// in the seed's "Users authentication settings") and keeps their browser
// sessions ("User session management").
//
// # Decision rule
//
// The chain walks its Order (for example "sso>ldap>ucm>local") and picks the
// first method whose user field is non-empty: SSOIdentity for sso,
// LDAPUsername for ldap, PBXUsername for ucm; local always applies. That
// method's answer is final:
//
//   - a rejected password is ErrDenied, never a reason to try the next
//     method (a user with an LDAP username cannot log in with a local hash);
//   - a method that cannot be reached (network, TLS, timeout, server fault)
//     is ErrUnavailable, never a reason to fall through to a weaker method;
//   - when SSO applies, the password path refuses the user with
//     ErrSSORequired, so the host redirects to the SSO start handler;
//   - a method named in the order but not configured is refused by NewChain
//     with ErrNotConfigured. SSO is the exception the seed makes ("if SSO is
//     not used ... skip to next"): without a provider the sso step is inert.
//
// Every failure is an *AuthError carrying the deciding Method, a Reason
// ("invalid_credentials", "account_locked", "unreachable", ...) and one of
// the sentinels; errors that an Authenticator returns without a sentinel
// count as ErrUnavailable, never as ErrDenied.
//
// Unknown users cost the same as local users (a dummy argon2id check) and
// get the same error and Reason as a wrong password. Empty passwords are
// refused before any server is contacted: an empty LDAP simple bind is an
// anonymous success (RFC 4513 section 5.1.2).
//
// # Methods
//
//   - Local: argon2id (RFC 9106) hashes in PHC string format; bcrypt hashes
//     are accepted for migration and replaced by argon2id after the next
//     successful login; comparisons are constant-time.
//   - AD/LDAP (RFC 4511, 4513, 4515, 4516) through github.com/go-ldap/ldap/v3:
//     LDAPS or StartTLS with verified certificates, a service-account
//     search with RFC 4515 escaping, a bind as the returned DN, an optional
//     required group, a pool of connections, and AD's "data 775"-style
//     details surfaced as Reasons.
//   - Cisco UCM: AXL doAuthenticateUser over HTTPS (SOAP 1.1) with an AXL
//     application user.
//   - SSO: OpenID Connect (authorization code flow with PKCE, RFC 7636,
//     state and nonce) through github.com/coreos/go-oidc/v3 and
//     golang.org/x/oauth2. The SSOProvider interface leaves room for SAML.
//
// # Sessions
//
// Manager issues 32-byte random tokens in a "__Host-" cookie (Secure,
// HttpOnly, SameSite=Lax) and stores only their SHA-256. Remembered
// sessions get a persistent cookie and a sliding inactivity timeout
// (default 8 days, at most 30 days); others a browser-session cookie and a
// short idle timeout (default 1 hour); every session has an absolute
// lifetime cap. Activity writes are throttled (TouchInterval). The token
// changes on login, logout and Renew.
//
// # Configuration
//
// Config is the "Users authentication settings" section (order, ldap, ucm,
// oidc, session) with JSON field names; Validate reports every problem as
// "ldap.url: ..." so a composing configuration can prefix it. Durations
// accept "8d" as well as Go durations (Duration). Secrets use the Secret
// type and never print; the authenticators and the OIDC provider hold them
// out of fmt's reach, and User and Result print and log without the
// password hash. Even on fmt's two method-free paths (a configuration kept
// in an unexported field of the caller's struct, or a bad verb on a
// method-less pointer that leads to one) a Secret prints as a pointer,
// never as its value. The examples/authcheck command checks
// one login against such a file.
//
// # What it does not do
//
// It does not provision users, manage passwords in LDAP or UCM, rate-limit
// login attempts (put a limiter in front of Chain.Authenticate), follow
// LDAP referrals, fail over between several LDAP or CUCM servers, or
// implement SAML (only the SSOProvider seam). Unknown LDAP users answer
// after one search instead of a search and a bind, so a very precise
// timing observer could tell them apart from LDAP users with a wrong
// password; their error is the same.
package authchain
