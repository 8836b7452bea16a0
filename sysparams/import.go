package sysparams

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/secret"
)

// ParseParams reads the plain form of a parameter set: the JSON of Params
// (the sections telephony, email, numbering_plan, authentication, proxy,
// certificate, cloud and web_server), secrets written in plain text, as
// an administrator writes it by hand. It is the format "ucxparams show"
// prints, except that show redacts secrets.
//
// A missing section or field keeps its default (Defaults). The whole
// document is checked before anything is reported: unknown sections and
// fields, values of the wrong JSON type, the redacted placeholder
// "[REDACTED]" in a secret, and every rule of Validate. All the problems
// come back at once as a *ValidationError, each naming its dotted path
// ("email.port: must be a JSON number, got string"). A stored Document
// (with its "schema" field) is refused with a hint, since its secrets are
// sealed. r is read up to 16 MiB.
func ParseParams(r io.Reader) (*Params, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("sysparams: import: %w", err)
	}
	if len(b) > maxDocumentSize {
		return nil, invalid(fielderr.New("", "the document is larger than %d bytes", maxDocumentSize))
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, invalid(fielderr.New("", "the document is empty"))
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, invalid(fielderr.New("", "not a JSON object%s", syntaxDetail(b, err)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid(fielderr.New("", "trailing data after the parameter object"))
	}
	if _, ok := top["schema"]; ok {
		return nil, invalid(fielderr.New("", "this is a stored parameter document (it has a \"schema\" field), not plain parameters: its secrets are sealed with its key file; copy both files instead of importing"))
	}
	p := Defaults()
	var l fielderr.List
	failed := map[string]bool{}
	decodeInto(reflect.ValueOf(p).Elem(), "", b, &l, failed)
	decodeErr := l.Err()
	var all fielderr.List
	all.Merge("", decodeErr)
	// Rules are checked too, but not for the fields that could not be
	// decoded (their default would be reported instead of the mistake).
	for _, e := range fielderr.Flatten(p.Validate()) {
		var fe *FieldError
		if errors.As(e, &fe) && coveredBy(fe.Field, failed) {
			continue
		}
		all.Merge("", e)
	}
	if err := all.Err(); err != nil {
		return nil, &ValidationError{Err: err}
	}
	return p, nil
}

// Import replaces the parameters of s with the plain document read from r
// (see ParseParams): the whole set, not a merge, so a field the document
// leaves out takes its default. Secrets are sealed by the store as on any
// Update. A document with any problem saves nothing and returns a
// *ValidationError listing them all; s is untouched.
func Import(ctx context.Context, s Store, r io.Reader) (Change, error) {
	p, err := ParseParams(r)
	if err != nil {
		return Change{}, err
	}
	return s.Update(ctx, func(cur *Params) error {
		*cur = *p
		return nil
	})
}

func invalid(e *FieldError) error { return &ValidationError{Err: e} }

// syntaxDetail describes a JSON syntax error by line and column.
func syntaxDetail(b []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return ": unexpected end of the document"
		}
		return ""
	}
	// Offset counts the bytes read, the offending one included.
	line, col := 1, 0
	for _, c := range b[:min(int(se.Offset), len(b))] {
		if c == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	return fmt.Sprintf(": line %d, column %d: %s", line, col, strings.TrimPrefix(se.Error(), "json: "))
}

// coveredBy reports whether path is one of failed or lies inside one.
func coveredBy(path string, failed map[string]bool) bool {
	for f := range failed {
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return true
		}
	}
	return false
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodeInto decodes raw into v (settable) like encoding/json, but goes
// down plain structs field by field so that every unknown field and every
// bad value is recorded in l with its path, instead of stopping at the
// first. Paths that failed are added to failed.
func decodeInto(v reflect.Value, path string, raw json.RawMessage, l *fielderr.List, failed map[string]bool) {
	t := v.Type()
	pt := reflect.PointerTo(t)
	plainStruct := t.Kind() == reflect.Struct && !hasAnonymous(t) &&
		(path == "" || (!pt.Implements(jsonUnmarshaler) && !pt.Implements(textUnmarshaler)))
	trimmed := bytes.TrimSpace(raw)
	if path == "" && (len(trimmed) == 0 || trimmed[0] != '{') {
		// Never json.Unmarshal into Params here: its UnmarshalJSON calls
		// decodeInto on failure.
		failed[path] = true
		l.Add("", "not a JSON object")
		return
	}
	if !plainStruct || len(trimmed) == 0 || trimmed[0] != '{' {
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			failed[path] = true
			l.Merge("", valueError(path, err))
		}
		return
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		failed[path] = true
		l.Merge("", valueError(path, err))
		return
	}
	fields := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, skip := jsonName(sf)
		if skip {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fields[name] = i
	}
	// Known fields first, in declaration order, then unknown ones by name.
	index := func(k string) (int, bool) {
		if i, ok := fields[k]; ok {
			return i, true
		}
		// encoding/json matches names case-insensitively when there is
		// no exact match.
		for name, j := range fields {
			if strings.EqualFold(name, k) {
				return j, true
			}
		}
		return 0, false
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(a, b int) bool {
		ia, oka := index(keys[a])
		ib, okb := index(keys[b])
		if oka != okb {
			return oka
		}
		if oka && ia != ib {
			return ia < ib
		}
		return keys[a] < keys[b]
	})
	for _, k := range keys {
		i, ok := index(k)
		if !ok {
			where := path
			if where == "" {
				l.Add(k, "unknown section")
			} else {
				l.Add(where, "unknown field %q", k)
			}
			failed[joinPath(path, k)] = true
			continue
		}
		name, _ := jsonName(t.Field(i))
		if name == "" {
			name = t.Field(i).Name
		}
		decodeInto(v.Field(i), joinPath(path, name), obj[k], l, failed)
	}
}

func hasAnonymous(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Anonymous {
			return true
		}
	}
	return false
}

// valueError turns an encoding/json (or custom unmarshaler) error for the
// value at path into a *FieldError without the packages' prefixes.
func valueError(path string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := path
		if te.Field != "" {
			field = joinPath(path, te.Field)
		}
		return fielderr.New(field, "must be a JSON %s, got %s", jsonKind(te.Type), te.Value)
	}
	msg := err.Error()
	if strings.Contains(msg, secret.Redacted) {
		return fielderr.New(path, "is the redacted placeholder %q, not a value; write the secret in plain text, or \"\" for none", secret.Redacted)
	}
	return fielderr.New(path, "%s", trimPkg(msg))
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}
