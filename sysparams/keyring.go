package sysparams

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// KeySize is the length of a keyring key: AES-256.
const KeySize = 32

// sealedPrefix starts every sealed secret; the version lets a later format
// coexist with this one.
const sealedPrefix = "v1:"

// aadPrefix binds a ciphertext to this use, its key ID and its field path,
// so a ciphertext copied to another field or made under another key fails
// authentication instead of decrypting to a wrong secret.
const aadPrefix = "ucxkit.sysparams.v1"

// keyFileSchema marks a key file.
const keyFileSchema = "ucxkit.sysparams.keys"

// Keyring seals and opens secrets with AES-256-GCM (NIST SP 800-38D). A
// sealed secret is "v1:<key id>:<base64url(nonce || ciphertext || tag)>";
// the additional data is the key ID and the field path, so a ciphertext
// moved to another field does not open. New secrets are sealed with the
// primary key; every key in the ring can open. Rotation adds a new primary
// and, once every secret is re-sealed, retires the old key.
//
// A Keyring is safe for concurrent use. Its String form never shows key
// material.
type Keyring struct {
	mu      sync.RWMutex         // guards primary, keys, created
	primary string               // ID of the sealing key
	keys    map[string][]byte    // ID → 32-byte key
	created map[string]time.Time // ID → creation time, for the key file
}

// NewKeyring returns a keyring holding key (32 bytes) under id as primary.
// Hosts that keep the key elsewhere (an HSM, a secret manager, the cluster
// store's configuration) use it; id may be empty for a derived one.
func NewKeyring(id string, key []byte) (*Keyring, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sysparams: key must be %d bytes, got %d", KeySize, len(key))
	}
	if id == "" {
		id = "k" + hex.EncodeToString(keyFingerprint(key))
	}
	k := &Keyring{keys: map[string][]byte{}, created: map[string]time.Time{}}
	if err := k.add(id, key, time.Now()); err != nil {
		return nil, err
	}
	k.primary = id
	return k, nil
}

// GenerateKeyring returns a keyring with one new random key.
func GenerateKeyring() (*Keyring, error) {
	key, id, err := newKey()
	if err != nil {
		return nil, err
	}
	return NewKeyring(id, key)
}

func newKey() (key []byte, id string, err error) {
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, "", fmt.Errorf("sysparams: generate key: %w", err)
	}
	idb := make([]byte, 6)
	if _, err := rand.Read(idb); err != nil {
		return nil, "", fmt.Errorf("sysparams: generate key id: %w", err)
	}
	return key, "k" + hex.EncodeToString(idb), nil
}

func (k *Keyring) add(id string, key []byte, created time.Time) error {
	if len(key) != KeySize {
		return fmt.Errorf("sysparams: key must be %d bytes, got %d", KeySize, len(key))
	}
	if !validKeyID(id) {
		return fmt.Errorf("sysparams: key id must be 1-32 letters, digits, '-' or '_', got %q", id)
	}
	if _, dup := k.keys[id]; dup {
		return fmt.Errorf("sysparams: key id %q already in the keyring", id)
	}
	k.keys[id] = append([]byte(nil), key...)
	k.created[id] = created
	return nil
}

// keyFingerprint derives a short public ID from a key without revealing it:
// the first bytes of an AES encryption of a fixed block.
func keyFingerprint(key []byte) []byte {
	b, _ := aes.NewCipher(key)
	var out [16]byte
	b.Encrypt(out[:], []byte("ucxkit key id...")) // exactly one AES block
	return out[:6]
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// PrimaryID returns the ID of the key that seals new secrets.
func (k *Keyring) PrimaryID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.primary
}

// IDs returns the IDs of every key in the ring, primary first.
func (k *Keyring) IDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := []string{k.primary}
	for _, id := range sortedKeys(k.keys) {
		if id != k.primary {
			out = append(out, id)
		}
	}
	return out
}

// String describes the ring without key material.
func (k *Keyring) String() string {
	return fmt.Sprintf("sysparams.Keyring{primary: %s, keys: %d}", k.PrimaryID(), len(k.IDs()))
}

// GoString is String, so %#v shows no key material.
func (k *Keyring) GoString() string { return k.String() }

// clone returns an independent copy of the ring.
func (k *Keyring) clone() *Keyring {
	k.mu.RLock()
	defer k.mu.RUnlock()
	c := &Keyring{primary: k.primary, keys: make(map[string][]byte, len(k.keys)), created: make(map[string]time.Time, len(k.created))}
	for id, key := range k.keys {
		c.keys[id] = append([]byte(nil), key...)
	}
	for id, t := range k.created {
		c.created[id] = t
	}
	return c
}

// Rotate adds a new random key and makes it primary; the old keys stay to
// open existing secrets until Retire. It returns the new key's ID.
func (k *Keyring) Rotate() (string, error) {
	key, id, err := newKey()
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.add(id, key, time.Now()); err != nil {
		return "", err
	}
	k.primary = id
	return id, nil
}

// Retire removes every key except the primary. Call it only after every
// secret has been re-sealed with the primary.
func (k *Keyring) Retire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id := range k.keys {
		if id != k.primary {
			clear(k.keys[id])
			delete(k.keys, id)
			delete(k.created, id)
		}
	}
}

func (k *Keyring) aead(id string) (cipher.AEAD, error) {
	k.mu.RLock()
	key, ok := k.keys[id]
	k.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrKeyUnknown, id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func aad(id, path string) []byte { return []byte(aadPrefix + "\x00" + id + "\x00" + path) }

// Seal encrypts s for the field at path ("email.password") with the
// primary key and a fresh random 96-bit nonce.
func (k *Keyring) Seal(path string, s Secret) (string, error) {
	id := k.PrimaryID()
	g, err := k.aead(id)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sysparams: nonce: %w", err)
	}
	out := g.Seal(nonce, nonce, []byte(s.Reveal()), aad(id, path))
	return sealedPrefix + id + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal for the same path. A value sealed for
// another path, altered, or sealed with a key the ring does not hold fails
// with an error wrapping ErrDecrypt or ErrKeyUnknown.
func (k *Keyring) Open(path, sealed string) (Secret, error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return NewSecret(""), fmt.Errorf("%w: %s: unknown sealed format", ErrDecrypt, path)
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return NewSecret(""), fmt.Errorf("%w: %s: malformed sealed value", ErrDecrypt, path)
	}
	g, err := k.aead(id)
	if err != nil {
		if errors.Is(err, ErrKeyUnknown) {
			return NewSecret(""), fmt.Errorf("%w: %s: key %q", ErrKeyUnknown, path, id)
		}
		return NewSecret(""), wrap("sysparams: "+path, err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(raw) < g.NonceSize()+g.Overhead() {
		return NewSecret(""), fmt.Errorf("%w: %s: malformed sealed value", ErrDecrypt, path)
	}
	plain, err := g.Open(nil, raw[:g.NonceSize()], raw[g.NonceSize():], aad(id, path))
	if err != nil {
		return NewSecret(""), fmt.Errorf("%w: %s: authentication failed (wrong key, altered, or moved from another field)", ErrDecrypt, path)
	}
	return NewSecret(string(plain)), nil
}

// SealedKeyID returns the key ID of a sealed value, "" if malformed.
func SealedKeyID(sealed string) string {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// keyFile is the JSON form of a key file.
type keyFile struct {
	Schema  string         `json:"schema"`
	Primary string         `json:"primary"`
	Keys    []keyFileEntry `json:"keys"`
}

type keyFileEntry struct {
	ID      string    `json:"id"`
	Key     string    `json:"key"` // base64 (standard)
	Created time.Time `json:"created"`
}

// LoadKeyFile reads a key file written by WriteKeyFile. It refuses a file
// that others can read or write (ErrKeyPermissions) and reports a missing
// file with an error wrapping fs.ErrNotExist.
func LoadKeyFile(path string) (*Keyring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		// A FIFO would block the read forever; a key file is a few
		// hundred bytes.
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: key file is not a regular file of at most 1 MiB", ErrCorrupt)}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: mode %04o, must be 0600 (chmod 600 %s)", ErrKeyPermissions, fi.Mode().Perm(), path)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: key file is not JSON", ErrCorrupt)}
	}
	if kf.Schema != keyFileSchema {
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: not a ucxkit key file", ErrForeign)}
	}
	k := &Keyring{keys: map[string][]byte{}, created: map[string]time.Time{}}
	for _, e := range kf.Keys {
		key, err := base64.StdEncoding.DecodeString(e.Key)
		if err != nil {
			return nil, &FileError{Path: path, Err: fmt.Errorf("%w: key %q is not base64", ErrCorrupt, e.ID)}
		}
		if err := k.add(e.ID, key, e.Created); err != nil {
			return nil, &FileError{Path: path, Err: fmt.Errorf("%w: %s", ErrCorrupt, trimPkg(err.Error()))}
		}
		clear(key)
	}
	if _, ok := k.keys[kf.Primary]; !ok {
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: primary key %q not in the file", ErrCorrupt, kf.Primary)}
	}
	k.primary = kf.Primary
	return k, nil
}

// LoadOrCreateKeyFile loads the key file at path, or creates it with a new
// key (mode 0600, written atomically) when it does not exist. created
// reports which happened.
func LoadOrCreateKeyFile(path string) (k *Keyring, created bool, err error) {
	k, err = LoadKeyFile(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if k, err = GenerateKeyring(); err != nil {
		return nil, false, err
	}
	if err := k.WriteKeyFile(path); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// WriteKeyFile writes the ring to path with mode 0600, atomically (temp
// file in the same folder, fsync, rename, folder fsync).
func (k *Keyring) WriteKeyFile(path string) error {
	k.mu.RLock()
	kf := keyFile{Schema: keyFileSchema, Primary: k.primary}
	for _, id := range sortedKeys(k.keys) {
		kf.Keys = append(kf.Keys, keyFileEntry{ID: id, Key: base64.StdEncoding.EncodeToString(k.keys[id]), Created: k.created[id].UTC()})
	}
	k.mu.RUnlock()
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	defer clear(b)
	return writeFileAtomic(path, b, 0o600, nil)
}
