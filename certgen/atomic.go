package certgen

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// tempPattern names temporary files; orphans (left by a crash) match
// tempGlob and are removed by Ensure.
const (
	tempPrefix = ".certgen-"
	tempGlob   = tempPrefix + "*.tmp"
)

// writeTemp writes data to a new temporary file in dir with mode perm
// (set explicitly, so the umask does not matter), fsyncs and closes it,
// and returns its path.
func writeTemp(dir, base string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, tempPrefix+base+"-*.tmp") // created 0600
	if err != nil {
		return "", fmt.Errorf("certgen: %w", err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		_ = f.Close()
		_ = os.Remove(name)
		return "", fmt.Errorf("certgen: write %s: %w", filepath.Join(dir, base), err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return "", fmt.Errorf("certgen: write %s: %w", filepath.Join(dir, base), err)
	}
	return name, nil
}

// syncDir makes renames and removals in dir durable. Windows cannot open a
// directory for fsync; NTFS journals the metadata itself, so the call is a
// no-op there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("certgen: sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("certgen: sync %s: %w", dir, err)
	}
	return nil
}

// removeOrphans deletes temporary files left by an interrupted Save.
func removeOrphans(dir string) (bool, error) {
	matches, err := filepath.Glob(filepath.Join(dir, tempGlob))
	if err != nil {
		return false, fmt.Errorf("certgen: %w", err)
	}
	removed := false
	for _, m := range matches {
		if !strings.HasPrefix(filepath.Base(m), tempPrefix) {
			continue
		}
		if err := os.Remove(m); err != nil && !os.IsNotExist(err) {
			return removed, fmt.Errorf("certgen: remove orphan: %w", err)
		}
		removed = true
	}
	return removed, nil
}
