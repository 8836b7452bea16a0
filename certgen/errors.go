package certgen

import (
	"errors"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/secret"
)

// Secret is ucxkit's string type that never prints its value. KeyPEMSecret
// returns the private key in this form for stores that persist it.
type Secret = secret.Secret

// NewSecret returns a Secret holding v (the empty string gives the unset
// Secret). Secrets of every ucxkit package are the same type.
func NewSecret(v string) Secret { return secret.New(v) }

// FieldError is one validation problem of one field of Options; inspect it
// with errors.As. Its Field is the JSON name of the option ("key_type",
// "dns_names[2]").
type FieldError = fielderr.Error

// Sentinel errors. Errors returned by this package wrap them, so test with
// errors.Is.
var (
	// ErrNotFound: the directory holds neither cert.pem nor key.pem.
	ErrNotFound = errors.New("certgen: no certificate in directory")
	// ErrIncomplete: only one of cert.pem and key.pem exists, and no
	// interrupted Save can be rolled back. Ensure does not overwrite such a
	// directory; remove the stray file or call RenewDir.
	ErrIncomplete = errors.New("certgen: incomplete certificate/key pair")
	// ErrKeyMismatch: the private key is not the key of the certificate.
	// Ensure reports it and never silently replaces the key.
	ErrKeyMismatch = errors.New("certgen: private key does not match certificate")
	// ErrUnsupportedKey: a key is neither RSA nor ECDSA, or a legacy export
	// was asked of the other algorithm (PKCS#1 of an ECDSA key, SEC1 of an
	// RSA key).
	ErrUnsupportedKey = errors.New("certgen: unsupported key type")
	// ErrBadPEM: a file holds no PEM block of the expected type, or its
	// contents do not parse.
	ErrBadPEM = errors.New("certgen: malformed PEM")
	// ErrBusy: another goroutine or process kept the directory's LockFile
	// for longer than LockTimeout.
	ErrBusy = errors.New("certgen: certificate directory is locked by another writer")
)
