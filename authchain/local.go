package authchain

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are argon2id cost parameters (RFC 9106). The zero value means
// DefaultArgon2Params.
type Argon2Params struct {
	// Memory in KiB.
	Memory uint32 `json:"memory"`
	// Iterations (time cost).
	Iterations uint32 `json:"iterations"`
	// Parallelism (lanes).
	Parallelism uint8 `json:"parallelism"`
	// SaltLen in bytes.
	SaltLen uint32 `json:"salt_len"`
	// KeyLen in bytes.
	KeyLen uint32 `json:"key_len"`
}

// DefaultArgon2Params follow the OWASP Password Storage Cheat Sheet's first
// argon2id option: 19 MiB, 2 iterations, 1 lane, 16-byte salt, 32-byte key.
var DefaultArgon2Params = Argon2Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Limits applied when parsing a stored hash, so a planted hash cannot make
// one login allocate gigabytes or spin for minutes.
const (
	maxArgonMemory     = 1 << 20 // KiB (1 GiB)
	maxArgonIterations = 64
	minSaltLen         = 8 // RFC 9106 section 3.1: at least 8 bytes
	maxSaltLen         = 64
	minKeyLen          = 16
	maxKeyLen          = 128
)

func (p Argon2Params) withDefaults() Argon2Params {
	if p == (Argon2Params{}) {
		return DefaultArgon2Params
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultArgon2Params.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultArgon2Params.KeyLen
	}
	if p.Parallelism == 0 {
		p.Parallelism = 1
	}
	return p
}

// Validate reports every out-of-range parameter, naming its JSON field.
func (p Argon2Params) Validate() error {
	if p == (Argon2Params{}) {
		return nil
	}
	p = p.withDefaults()
	var errs []error
	if p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxArgonMemory {
		errs = append(errs, &FieldError{Field: "memory", Problem: fmt.Sprintf("must be %d-%d KiB, got %d", 8*uint32(p.Parallelism), maxArgonMemory, p.Memory)})
	}
	if p.Iterations < 1 || p.Iterations > maxArgonIterations {
		errs = append(errs, &FieldError{Field: "iterations", Problem: fmt.Sprintf("must be 1-%d, got %d", maxArgonIterations, p.Iterations)})
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		errs = append(errs, &FieldError{Field: "salt_len", Problem: fmt.Sprintf("must be %d-%d, got %d", minSaltLen, maxSaltLen, p.SaltLen)})
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		errs = append(errs, &FieldError{Field: "key_len", Problem: fmt.Sprintf("must be %d-%d, got %d", minKeyLen, maxKeyLen, p.KeyLen)})
	}
	return errors.Join(errs...)
}

// PHC is a parsed argon2id hash in PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, salt and key in unpadded
// standard base64.
type PHC struct {
	Params Argon2Params
	Salt   []byte
	Key    []byte
}

// String formats the hash in PHC string format.
func (h PHC) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.Params.Memory, h.Params.Iterations, h.Params.Parallelism, b64.EncodeToString(h.Salt), b64.EncodeToString(h.Key))
}

// ParsePHC parses an argon2id PHC string, enforcing version 19 and sane
// limits on every parameter.
func ParsePHC(s string) (PHC, error) {
	bad := func(format string, a ...any) (PHC, error) {
		return PHC{}, fmt.Errorf("authchain: argon2id hash: "+format, a...)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=..,t=..,p=..$salt$key")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm %q is not argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version must be v=%d", argon2.Version)
	}
	var p PHC
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return bad("malformed parameters")
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || (len(v) > 1 && v[0] == '0') {
			return bad("parameter %q is not a number", k)
		}
		switch k {
		case "m":
			p.Params.Memory = uint32(n)
		case "t":
			p.Params.Iterations = uint32(n)
		case "p":
			if n > 255 {
				return bad("p out of range")
			}
			p.Params.Parallelism = uint8(n)
		default:
			return bad("unknown parameter %q", k)
		}
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return bad("m, t and p are required")
	}
	var err error
	if p.Salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil {
		return bad("salt is not unpadded base64")
	}
	if p.Key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil {
		return bad("key is not unpadded base64")
	}
	p.Params.SaltLen, p.Params.KeyLen = uint32(len(p.Salt)), uint32(len(p.Key))
	if p.Params.Parallelism == 0 {
		return bad("p must be >= 1")
	}
	if err := p.Params.Validate(); err != nil {
		return bad("%v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return p, nil
}

// HashPassword returns an argon2id PHC hash of password with params (zero
// means DefaultArgon2Params) and a fresh random salt.
func HashPassword(password string, params Argon2Params) (string, error) {
	if err := params.Validate(); err != nil {
		return "", fmt.Errorf("authchain: argon2 params: %w", err)
	}
	p := params.withDefaults()
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("authchain: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	return PHC{Params: p, Salt: salt, Key: key}.String(), nil
}

// hashKind classifies a stored hash.
func isBcrypt(h string) bool {
	return strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")
}

// CheckPasswordHash reports whether hash is a password hash VerifyPassword
// can use: empty (no local login), an argon2id PHC string within the
// parsing limits, or a bcrypt hash ($2a$, $2b$, $2y$).
func CheckPasswordHash(hash string) error {
	switch {
	case hash == "":
		return nil
	case strings.HasPrefix(hash, "$argon2id$"):
		_, err := ParsePHC(hash)
		return err
	case isBcrypt(hash):
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("authchain: bcrypt hash: %w", err)
		}
		return nil
	}
	return errors.New("authchain: unsupported password hash (want argon2id PHC or bcrypt)")
}

// VerifyPassword checks password against an argon2id PHC or bcrypt hash in
// constant time. needsRehash is true when the password matched a bcrypt
// hash or an argon2id hash with parameters other than params. A malformed
// hash is an error that does not match ErrDenied.
func VerifyPassword(hash, password string, params Argon2Params) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		h, err := ParsePHC(hash)
		if err != nil {
			return false, false, err
		}
		key := argon2.IDKey([]byte(password), h.Salt, h.Params.Iterations, h.Params.Memory, h.Params.Parallelism, uint32(len(h.Key)))
		if subtle.ConstantTimeCompare(key, h.Key) != 1 {
			return false, false, nil
		}
		want := params.withDefaults()
		return true, h.Params != want, nil
	case isBcrypt(hash):
		// bcrypt compares in constant time itself.
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, false, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("authchain: bcrypt hash: %w", err)
		}
		return true, true, nil
	default:
		return false, false, errors.New("authchain: unsupported password hash (want argon2id PHC or bcrypt)")
	}
}

// LocalConfig configures a LocalAuthenticator.
type LocalConfig struct {
	// Params are the argon2id parameters for new hashes; zero means
	// DefaultArgon2Params. A stored hash with other parameters is replaced
	// after the next successful login.
	Params Argon2Params
	// Updater stores rehashed passwords. Nil disables rehashing (bcrypt
	// hashes keep working).
	Updater HashUpdater
	// Logger receives rehash failures. Nil means silent.
	Logger *slog.Logger
}

// LocalAuthenticator checks User.PasswordHash. It is safe for concurrent
// use.
type LocalAuthenticator struct {
	params  Argon2Params
	updater HashUpdater
	logger  *slog.Logger
	dummy   string // argon2id hash of a random password, for unknown users
}

var _ Authenticator = (*LocalAuthenticator)(nil)

// NewLocalAuthenticator validates cfg and returns a LocalAuthenticator.
func NewLocalAuthenticator(cfg LocalConfig) (*LocalAuthenticator, error) {
	if err := cfg.Params.Validate(); err != nil {
		return nil, fmt.Errorf("authchain: local.params: %w", err)
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	dummy, err := HashPassword(base64.RawStdEncoding.EncodeToString(rnd[:]), cfg.Params)
	if err != nil {
		return nil, err
	}
	return &LocalAuthenticator{params: cfg.Params.withDefaults(), updater: cfg.Updater, logger: cfg.Logger, dummy: dummy}, nil
}

// Hash returns an argon2id hash of password with the authenticator's
// parameters.
func (l *LocalAuthenticator) Hash(password string) (string, error) {
	return HashPassword(password, l.params)
}

// Authenticate implements Authenticator. A user without a password hash is
// checked against a dummy hash so it takes the same time, and is denied
// with ReasonInvalidCredentials. After a successful login with a bcrypt or
// outdated argon2id hash the password is rehashed through the Updater; a
// failed update is logged and does not fail the login.
func (l *LocalAuthenticator) Authenticate(ctx context.Context, user User, password string) error {
	if err := ctx.Err(); err != nil {
		return unavailable(MethodLocal, ReasonTimeout, err)
	}
	if password == "" {
		return denied(MethodLocal, ReasonEmptyPassword, nil)
	}
	if user.PasswordHash == "" {
		l.Dummy(password)
		return denied(MethodLocal, ReasonInvalidCredentials, nil)
	}
	ok, rehash, err := VerifyPassword(user.PasswordHash, password, l.params)
	if err != nil {
		// A corrupt stored hash: burn the same time, refuse, and say why
		// in the cause (the hash itself is never included).
		l.Dummy(password)
		return denied(MethodLocal, ReasonInvalidCredentials, err)
	}
	if !ok {
		return denied(MethodLocal, ReasonInvalidCredentials, nil)
	}
	if rehash && l.updater != nil {
		if h, err := l.Hash(password); err == nil {
			if err := l.updater.UpdatePasswordHash(ctx, user.Login, h); err != nil && l.logger != nil {
				l.logger.WarnContext(ctx, "authchain: rehash failed", "login", user.Login, "err", err)
			}
		}
	}
	return nil
}

// Dummy spends the time of one password check against a hash that never
// matches; the chain calls it for unknown users.
func (l *LocalAuthenticator) Dummy(password string) {
	_, _, _ = VerifyPassword(l.dummy, password, l.params)
}
