package sysparams

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeyringSealOpen(t *testing.T) {
	k, err := GenerateKeyring()
	require.NoError(t, err)
	sealed, err := k.Seal("email.password", NewSecret("p@ss"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sealed, "v1:"+k.PrimaryID()+":"))
	require.NotContains(t, sealed, "p@ss")

	got, err := k.Open("email.password", sealed)
	require.NoError(t, err)
	require.Equal(t, "p@ss", got.Reveal())

	again, err := k.Seal("email.password", NewSecret("p@ss"))
	require.NoError(t, err)
	require.NotEqual(t, sealed, again, "a fresh nonce per seal")

	t.Run("moved to another field", func(t *testing.T) {
		_, err := k.Open("cloud.client_secret", sealed)
		require.ErrorIs(t, err, ErrDecrypt)
	})
	t.Run("altered", func(t *testing.T) {
		b := []byte(sealed)
		i := len(b) - 3
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		_, err := k.Open("email.password", string(b))
		require.ErrorIs(t, err, ErrDecrypt)
	})
	t.Run("other key", func(t *testing.T) {
		other, err := GenerateKeyring()
		require.NoError(t, err)
		_, err = other.Open("email.password", sealed)
		require.ErrorIs(t, err, ErrKeyUnknown)
	})
	t.Run("malformed", func(t *testing.T) {
		for _, s := range []string{"", "plain", "v1:", "v1:" + k.PrimaryID() + ":!!", "v2:x:y", "v1:" + k.PrimaryID() + ":AAAA"} {
			_, err := k.Open("email.password", s)
			require.Error(t, err, s)
		}
	})
	t.Run("rotate keeps old keys until retire", func(t *testing.T) {
		old := k.PrimaryID()
		id, err := k.Rotate()
		require.NoError(t, err)
		require.NotEqual(t, old, id)
		_, err = k.Open("email.password", sealed)
		require.NoError(t, err)
		k.Retire()
		require.Equal(t, []string{id}, k.IDs())
		_, err = k.Open("email.password", sealed)
		require.ErrorIs(t, err, ErrKeyUnknown)
	})
	t.Run("host supplied key", func(t *testing.T) {
		key := make([]byte, KeySize)
		k1, err := NewKeyring("", key)
		require.NoError(t, err)
		k2, err := NewKeyring("", key)
		require.NoError(t, err)
		require.Equal(t, k1.PrimaryID(), k2.PrimaryID(), "derived ids are stable")
		s, err := k1.Seal("cloud.client_secret", NewSecret("x"))
		require.NoError(t, err)
		v, err := k2.Open("cloud.client_secret", s)
		require.NoError(t, err)
		require.Equal(t, "x", v.Reveal())
		_, err = NewKeyring("a", key[:16])
		require.Error(t, err)
		_, err = NewKeyring("bad id!", key)
		require.Error(t, err)
	})
}

func TestKeyFile(t *testing.T) {
	path := t.TempDir() + "/k.key"
	k, created, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.True(t, created)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	k2, created, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, k.PrimaryID(), k2.PrimaryID())

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = LoadKeyFile(path)
	require.ErrorIs(t, err, ErrKeyPermissions)
	require.NoError(t, os.Chmod(path, 0o600))

	require.NoError(t, os.WriteFile(path, []byte(`{"schema":"other"}`), 0o600))
	_, err = LoadKeyFile(path)
	require.ErrorIs(t, err, ErrForeign)
	require.NoError(t, os.WriteFile(path, []byte(`garbage`), 0o600))
	_, _, err = LoadOrCreateKeyFile(path)
	require.ErrorIs(t, err, ErrCorrupt)
	b, _ := os.ReadFile(path)
	require.Equal(t, "garbage", string(b), "a bad key file is never replaced")
}

func TestFileStoreRotateKey(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	var d0 Document
	require.NoError(t, json.Unmarshal(before, &d0))

	id, err := s.RotateKey(ctx)
	require.NoError(t, err)
	require.NotEqual(t, d0.KeyID, id)

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	var d1 Document
	require.NoError(t, json.Unmarshal(after, &d1))
	require.Equal(t, id, d1.KeyID)
	for path, sealed := range d1.Secrets {
		require.Equal(t, id, SealedKeyID(sealed), path)
		require.NotEqual(t, d0.Secrets[path], sealed)
	}
	k, err := LoadKeyFile(s.KeyPath())
	require.NoError(t, err)
	require.Equal(t, []string{id}, k.IDs(), "the old key is gone from the key file")

	// A fresh process reads the rotated files.
	s2, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	got, err := s2.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, validParams(), got)

	// The first store still works after the other rotates again.
	_, err = s2.RotateKey(ctx)
	require.NoError(t, err)
	got, err = s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, testCloudSecret, got.Cloud.ClientSecret.Reveal())
}

func TestFileStoreKeyMissingNeverRegenerated(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	require.NoError(t, os.Remove(s.KeyPath()))
	before, _ := os.ReadFile(path)

	_, err = OpenFile(ctx, path, FileOptions{})
	require.ErrorIs(t, err, ErrKeyMissing)
	_, err = os.Stat(s.KeyPath())
	require.ErrorIs(t, err, os.ErrNotExist)
	after, _ := os.ReadFile(path)
	require.Equal(t, before, after)
}

func TestDocumentTamperedSecretMovedBetweenFields(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	raw, _ := os.ReadFile(path)
	var d Document
	require.NoError(t, json.Unmarshal(raw, &d))
	d.Secrets["email.password"], d.Secrets["cloud.client_secret"] = d.Secrets["cloud.client_secret"], d.Secrets["email.password"]
	b, err := d.Marshal()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = s.Load(ctx)
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 587; return nil })
	require.ErrorIs(t, err, ErrDecrypt)
	after, _ := os.ReadFile(path)
	require.Equal(t, b, after, "an unreadable file is never overwritten")
}

// TestRotateKeyFailureKeepsKeysOnDisk makes the key file unwritable during
// a rotation: the store keeps working with the keys the file holds.
func TestRotateKeyFailureKeepsKeysOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := dir + "/params.json"
	keyDir := dir + "/keys"
	require.NoError(t, os.Mkdir(keyDir, 0o700))
	s, err := OpenFile(ctx, path, FileOptions{KeyFile: keyDir + "/k.key"})
	require.NoError(t, err)
	_, err = s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	before := s.keys.IDs()

	// Replace the key folder with a file: the atomic write cannot create
	// its temp file there.
	keyBytes, err := os.ReadFile(keyDir + "/k.key")
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(keyDir))
	require.NoError(t, os.WriteFile(keyDir, []byte("not a folder"), 0o600))
	_, err = s.RotateKey(ctx)
	require.Error(t, err)
	require.Equal(t, before, s.keys.IDs(), "the keys in memory are still those on disk")

	require.NoError(t, os.Remove(keyDir))
	require.NoError(t, os.Mkdir(keyDir, 0o700))
	require.NoError(t, os.WriteFile(keyDir+"/k.key", keyBytes, 0o600))
	_, err = s.Update(ctx, func(p *Params) error { p.Email.Password = NewSecret("new"); return nil })
	require.NoError(t, err)
	s2, err := OpenFile(ctx, path, FileOptions{KeyFile: keyDir + "/k.key"})
	require.NoError(t, err)
	p, err := s2.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, "new", p.Email.Password.Reveal())
}

// TestReadDuringKeyRotationInAnotherProcess: a store that has not loaded
// the keys yet reads the parameter file, then another process rotates the
// key (new file sealed with the new key, old key retired) before this one
// reads the key file. The read used to fail with ErrKeyUnknown; it now
// reads the file again and opens it.
func TestReadDuringKeyRotationInAnotherProcess(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t) // no file yet: a loads no keys
	b, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	_, err = b.Update(ctx, setAll(validParams()))
	require.NoError(t, err)

	a.mu.Lock()
	a.afterParse = func() {
		a.afterParse = nil // once
		_, err := b.RotateKey(ctx)
		require.NoError(t, err)
	}
	a.mu.Unlock()
	p, err := a.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, testCloudSecret, p.Cloud.ClientSecret.Reveal())
}
