package sysparams

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkFileStoreLoad reads, decrypts and decodes the file, against the
// baseline a user would write: reading the same JSON without secrets.
func BenchmarkFileStoreLoad(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := OpenFile(ctx, filepath.Join(dir, "params.json"), FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Update(ctx, setAll(validParams())); err != nil {
		b.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.json")
	raw, _ := json.Marshal(validParams())
	if err := os.WriteFile(plain, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	b.Run("sysparams", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Load(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-plain-json", func(b *testing.B) {
		for b.Loop() {
			data, err := os.ReadFile(plain)
			if err != nil {
				b.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFileStoreUpdate measures a durable update (read, validate,
// seal, temp file, fsync, rename, folder fsync, lock).
func BenchmarkFileStoreUpdate(b *testing.B) {
	ctx := context.Background()
	s, err := OpenFile(ctx, filepath.Join(b.TempDir(), "params.json"), FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Update(ctx, setAll(validParams())); err != nil {
		b.Fatal(err)
	}
	port := 1000
	for b.Loop() {
		port++
		if _, err := s.Update(ctx, func(p *Params) error { p.Email.Port = port; return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealOpen seals and opens one secret.
func BenchmarkSealOpen(b *testing.B) {
	k, err := GenerateKeyring()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := k.Seal("email.password", NewSecret("p@ssw0rd"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.Open("email.password", s); err != nil {
			b.Fatal(err)
		}
	}
}
