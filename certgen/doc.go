// Package certgen creates, stores, checks and renews the server's
// self-signed "Secure Communications Certificate": the certificate a UC
// server makes for its computer name at first boot, which the admin
// downloads as a .pem and uploads to the PBX for secure SIP and secure RDP.
//
// # What it implements
//
// Generate issues an X.509 v3 certificate (RFC 5280) for Options.Host:
// RSA-2048 (default; the widest PBX support), RSA-3072, RSA-4096 or ECDSA
// P-256 (FIPS 186-4) keys; subject CN = the computer name (Cisco CUCM
// matches the subject or a SAN), optional O; SAN DNS names (the computer
// name in lower case, the FQDN, aliases) and IP addresses, never a
// wildcard; a 20-byte random positive serial, new on every generation
// (RFC 5280 §4.1.2.2); NotBefore one hour before now, NotAfter five
// calendar years later (2024-02-29 + 5 years = 2029-03-01, Go's AddDate
// normalisation; never 365×5 days); KeyUsage digitalSignature (plus
// keyEncipherment for RSA), ExtKeyUsage serverAuth and clientAuth (SIP over
// TLS is mutual), BasicConstraints CA:FALSE, a SubjectKeyIdentifier (RFC
// 5280 §4.2.1.2 method 1) and a SHA-256 signature. Validity is
// configurable: Options.ValidityYears in calendar years or Options.Validity
// as an exact duration (Apple clients refuse server certificates valid
// for more than 825 days).
//
// Pair exports the certificate alone as PEM (the admin's download) and DER,
// and the key as PKCS#8 PEM (RFC 5208/5958); PKCS#1 (RFC 8017) and SEC1
// (RFC 5915) are explicit legacy exports. Every PEM ends in a newline
// (Cisco Expressway rejects key files that do not).
//
// Check and CheckPair give a Status: valid, expiring (inside the renewal
// window, by default the last third of the lifetime), expired,
// not-yet-valid, hostname-mismatch (the computer was renamed) and, from
// the directory functions, key-mismatch and missing. Renew makes a new key
// and serial with the same (or new) names, its lifetime starting now.
//
// # Storage and guarantees
//
// A certificate directory holds cert.pem (0644) and key.pem (0600). Save
// writes each to a temporary file in the directory, fsyncs it, renames it
// into place and fsyncs the directory. It keeps a copy of the previous
// certificate (cert.pem.old) and renames the new certificate before the
// new key, so a crash at any point leaves the old pair or the new pair:
// Load reads the old pair back from cert.pem.old + key.pem when the
// rename of the key did not happen, and Ensure renames it into place.
// The backup is a certificate (public), so no second copy of a private key
// ever lingers on disk.
//
// Ensure is the boot-time call: it loads the pair, or creates one when the
// directory has none. It never silently replaces a private key: a key that
// does not match its certificate is an error (ErrKeyMismatch). What to do
// about a renamed computer is the host's policy: Ensure reports it, or
// regenerates when Options.RegenerateOnRename is set. Expiry is reported,
// never acted upon; RenewDir is the explicit renewal. EnsureMatching is
// the idempotent variant for callers that state the whole pair they want
// (the certgen command): it keeps a valid pair whose names, key type and
// validity match the options, and replaces one that differs, has expired,
// is expiring or is not yet valid, so running it at every boot changes
// nothing until a change is due.
//
// Keys never appear in errors, logs, String, %v/%+v/%#v or JSON output of
// any type of this package. Functions are safe for concurrent use: writers
// of one directory (Save, Ensure, RenewDir) take turns through an OS file
// lock on its .certgen.lock, across goroutines and processes (several
// services of one server may all call Ensure at boot).
//
// # Failure semantics
//
// Validation errors name the JSON field ("dns_names[1]: must not be a
// wildcard ...") and are joined so that one call reports every problem;
// inspect them with errors.As and *FieldError. Directory errors are
// *FileError values wrapping the sentinels ErrNotFound, ErrIncomplete,
// ErrKeyMismatch, ErrBadPEM (also for files over 1 MiB), ErrBusy (another
// writer held the lock for LockTimeout) or an *fs.PathError; use
// errors.Is. A directory the process may not write is not locked, so a
// service with read access only can still Ensure a provisioned pair.
//
// # Platform notes
//
// On Windows, os.Rename replaces an existing file (MoveFileEx with
// MOVEFILE_REPLACE_EXISTING) but fails while another process holds the
// target open without FILE_SHARE_DELETE; Save then returns the error and
// the old pair stays in place. Directories cannot be fsynced there (NTFS
// journals the rename itself), and the 0600/0644 modes map only to the
// read-only attribute: protect the directory with an owner-only ACL.
//
// # What it does not do
//
// It is not a CA: it issues no CA certificates, signs no CSRs, and
// offers no Ed25519 keys (PBXs do not accept them), no encrypted key files,
// and no PKCS#12 export. It does not install the certificate on a PBX or
// in a trust store, and it does not watch for renames: the host calls
// Ensure (or CheckPair) with the current computer name. Generation and file
// writes are local and short, so these functions take no context; RSA-4096
// key generation can take around a second.
package certgen
