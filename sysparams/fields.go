package sysparams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/ucxkit/ucxkit/internal/secret"
)

var secretType = reflect.TypeFor[secret.Secret]()

// secretField is one Secret inside a Params, found by reflection so that
// the secrets of every section type (including other packages' config
// types) are covered without a hand-kept list.
type secretField struct {
	path string        // dotted JSON path, e.g. "email.o365.client_secret"
	v    reflect.Value // addressable Secret
}

func (f secretField) get() Secret  { return f.v.Interface().(Secret) }
func (f secretField) set(s Secret) { f.v.Set(reflect.ValueOf(s)) }

// secretFields returns every Secret field of p reachable through exported,
// JSON-visible fields, non-nil pointers and slices, in declaration order.
func secretFields(p *Params) []secretField {
	var out []secretField
	walkSecrets(reflect.ValueOf(p).Elem(), "", &out)
	return out
}

// SecretPaths returns the JSON paths of every secret field of p (set or
// not), for example "email.password" and "proxy.http.password". Stores use
// it to know which fields they must encrypt.
func SecretPaths(p *Params) []string {
	fs := secretFields(p)
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.path
	}
	return out
}

func walkSecrets(v reflect.Value, path string, out *[]secretField) {
	if v.Type() == secretType {
		*out = append(*out, secretField{path: path, v: v})
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkSecrets(v.Elem(), path, out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, skip := jsonName(sf)
			if skip {
				continue
			}
			child := path
			if !(sf.Anonymous && name == "") {
				if name == "" {
					name = sf.Name
				}
				child = joinPath(path, name)
			}
			walkSecrets(v.Field(i), child, out)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkSecrets(v.Index(i), path+"["+strconv.Itoa(i)+"]", out)
		}
	}
}

// jsonName returns the field's JSON name from its tag ("" when the tag has
// none) and whether encoding/json skips it.
func jsonName(sf reflect.StructField) (string, bool) {
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return "", true
	}
	name, _, _ := strings.Cut(tag, ",")
	return name, false
}

func joinPath(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

// pathSeg is one step of a JSON path: an object key or an array index.
type pathSeg struct {
	key   string
	index int // -1 for a key
}

func splitPath(path string) ([]pathSeg, error) {
	var segs []pathSeg
	for _, part := range strings.Split(path, ".") {
		key := part
		var idx []int
		if i := strings.IndexByte(part, '['); i >= 0 {
			key = part[:i]
			rest := part[i:]
			for rest != "" {
				end := strings.IndexByte(rest, ']')
				if rest[0] != '[' || end < 0 {
					return nil, fmt.Errorf("bad path %q", path)
				}
				n, err := strconv.Atoi(rest[1:end])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("bad index in path %q", path)
				}
				idx = append(idx, n)
				rest = rest[end+1:]
			}
		}
		if key == "" {
			return nil, fmt.Errorf("bad path %q", path)
		}
		segs = append(segs, pathSeg{key: key, index: -1})
		for _, n := range idx {
			segs = append(segs, pathSeg{index: n})
		}
	}
	return segs, nil
}

// setJSONPath replaces the value at path inside a decoded JSON tree (maps
// and slices from encoding/json). The path must exist.
func setJSONPath(tree any, path string, val any) error {
	segs, err := splitPath(path)
	if err != nil {
		return err
	}
	cur := tree
	for i, s := range segs {
		last := i == len(segs)-1
		if s.index < 0 {
			m, ok := cur.(map[string]any)
			if !ok {
				return fmt.Errorf("path %q: not an object", path)
			}
			if _, ok := m[s.key]; !ok {
				return fmt.Errorf("path %q: missing", path)
			}
			if last {
				m[s.key] = val
				return nil
			}
			cur = m[s.key]
			continue
		}
		a, ok := cur.([]any)
		if !ok || s.index >= len(a) {
			return fmt.Errorf("path %q: no such element", path)
		}
		if last {
			a[s.index] = val
			return nil
		}
		cur = a[s.index]
	}
	return fmt.Errorf("path %q: empty", path)
}

// getJSONPath returns the value at path, and whether it exists.
func getJSONPath(tree any, path string) (any, bool) {
	segs, err := splitPath(path)
	if err != nil {
		return nil, false
	}
	cur := tree
	for _, s := range segs {
		if s.index < 0 {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[s.key]; !ok {
				return nil, false
			}
			continue
		}
		a, ok := cur.([]any)
		if !ok || s.index >= len(a) {
			return nil, false
		}
		cur = a[s.index]
	}
	return cur, true
}

func decodeTree(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return tree, nil
}

// decodeWithSecrets decodes raw, the JSON form of a Params in which every
// secret listed in secrets appears redacted (or empty), and sets those
// secrets from the map through open (identity for a clone, decryption for a
// stored document). A listed path that is not a secret field of the
// decoded Params is an error.
func decodeWithSecrets[T any](raw []byte, secrets map[string]T, open func(path string, v T) (Secret, error)) (*Params, error) {
	if len(secrets) > 0 {
		tree, err := decodeTree(raw)
		if err != nil {
			return nil, err
		}
		for _, path := range sortedKeys(secrets) {
			cur, ok := getJSONPath(tree, path)
			if !ok {
				return nil, fmt.Errorf("secret %s: no such field in the parameters", path)
			}
			if s, isStr := cur.(string); !isStr || (s != "" && s != secret.Redacted) {
				return nil, fmt.Errorf("secret %s: the parameters hold a value there as well", path)
			}
			if err := setJSONPath(tree, path, ""); err != nil {
				return nil, err
			}
		}
		if raw, err = json.Marshal(tree); err != nil {
			return nil, err
		}
	}
	p := new(Params)
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return p, nil
	}
	byPath := map[string]secretField{}
	for _, f := range secretFields(p) {
		byPath[f.path] = f
	}
	for _, path := range sortedKeys(secrets) {
		f, ok := byPath[path]
		if !ok {
			return nil, fmt.Errorf("secret %s: not a secret field", path)
		}
		s, err := open(path, secrets[path])
		if err != nil {
			return nil, err
		}
		f.set(s)
	}
	return p, nil
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
