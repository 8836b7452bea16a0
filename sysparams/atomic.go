package sysparams

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tmpMarker is part of every temp file name, so orphans left by a crash can
// be recognised and removed when the store opens.
const tmpMarker = ".tmp-"

// crashHook lets tests stop a write between two steps, as a crash would.
// It is called with the step name ("written", "synced", "renamed") and
// the write aborts when it returns an error. nil in production.
type crashHook func(step string) error

// writeFileAtomic replaces path with data: a temp file in the same folder,
// written with mode perm, fsynced, renamed over path, and the folder
// fsynced, so that after a crash path holds either the old or the new
// content, never a mix.
func writeFileAtomic(path string, data []byte, perm os.FileMode, hook crashHook) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+tmpMarker+"*")
	if err != nil {
		return fmt.Errorf("sysparams: write %s: %w", path, err)
	}
	tmp := f.Name()
	keep := false
	defer func() {
		if err != nil {
			f.Close()
			if !keep {
				os.Remove(tmp)
			}
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("sysparams: write %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("sysparams: write %s: %w", path, err)
	}
	if hook != nil {
		if err = hook("written"); err != nil {
			keep = true // a crash leaves the orphan behind
			return err
		}
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sysparams: sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("sysparams: close %s: %w", path, err)
	}
	if hook != nil {
		if err = hook("synced"); err != nil {
			keep = true
			return err
		}
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("sysparams: rename %s: %w", path, err)
	}
	if hook != nil {
		if err = hook("renamed"); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sysparams: sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sysparams: sync folder %s: %w", dir, err)
	}
	return nil
}

// hasOrphans reports whether a temp file of path's name is in its folder.
func hasOrphans(path string) bool {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+base+tmpMarker) {
			return true
		}
	}
	return false
}

// removeOrphans deletes temp files that a crashed write of base left in
// its folder. It returns the names removed.
func removeOrphans(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), "."+base+tmpMarker) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				removed = append(removed, e.Name())
			}
		}
	}
	return removed, nil
}
