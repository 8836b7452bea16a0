package sysparams

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// SetField sets the field at a dotted JSON path ("email.port",
// "proxy.http.password", "numbering_plan.internal_patterns") from its text
// form, as a command line or a form gives it:
//
//   - string fields (and string types such as the order or a secret) take
//     the text as it is;
//   - numbers and booleans take their JSON form ("587", "true");
//   - durations take "8d", "36h", ...;
//   - lists take a JSON array or a comma-separated list ("" empties them);
//   - anything else takes its JSON form.
//
// Only the field changes; validation is the caller's (Store.Update does
// it). An unknown path or a value of the wrong form is an error naming the
// path.
func SetField(p *Params, path, value string) error {
	v, err := fieldByPath(reflect.ValueOf(p).Elem(), path)
	if err != nil {
		return err
	}
	nv := reflect.New(v.Type())
	if err := decodeText(nv.Interface(), v.Type(), value); err != nil {
		// One error per problem, each naming the path: a type's own
		// check may report several at once (an order with an unknown
		// method that does not end in local).
		leaves := fielderr.Flatten(err)
		errs := make([]error, len(leaves))
		for i, leaf := range leaves {
			msg := leaf.Error()
			var fe *fielderr.Error
			if errors.As(leaf, &fe) {
				msg = fe.Problem // the field is path itself
			}
			msg = trimPackage(msg)
			errs[i] = fmt.Errorf("sysparams: %w", &fielderr.Error{Field: path, Problem: msg})
		}
		return errors.Join(errs...)
	}
	v.Set(nv.Elem())
	return nil
}

// trimPackage removes the "authchain: " style prefix of another package's
// error message: the path already says which field was refused.
func trimPackage(msg string) string {
	for _, pkg := range []string{"authchain: ", "certgen: ", "numplan: ", "proxycfg: ", "o365: ", "smtpsend: ", "secret: "} {
		msg = strings.TrimPrefix(msg, pkg)
	}
	return msg
}

// FieldPaths returns the dotted JSON path of every settable leaf field of
// the parameters (sections descended, lists and scalars as leaves), in
// declaration order.
func FieldPaths() []string {
	var out []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == secretType || isTextual(t) {
			out = append(out, path)
			return
		}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name, skip := jsonName(sf)
			if !sf.IsExported() || skip {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			walk(sf.Type, joinPath(path, name))
		}
	}
	walk(reflect.TypeFor[Params](), "")
	return out
}

func isTextual(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(reflect.TypeFor[json.Unmarshaler]()) && t.Kind() != reflect.Struct
}

// fieldByPath returns the settable field at path, allocating nil pointers
// on the way.
func fieldByPath(v reflect.Value, path string) (reflect.Value, error) {
	if path == "" {
		return reflect.Value{}, fmt.Errorf("sysparams: empty field path")
	}
	for _, name := range strings.Split(path, ".") {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct || v.Type() == secretType {
			return reflect.Value{}, fmt.Errorf("sysparams: %s: no such field (%s has no fields)", path, v.Type())
		}
		found := false
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			n, skip := jsonName(sf)
			if !sf.IsExported() || skip {
				continue
			}
			if n == name {
				v = v.Field(i)
				found = true
				break
			}
		}
		if !found {
			return reflect.Value{}, fmt.Errorf("sysparams: %s: no such field %q", path, name)
		}
	}
	if v.Kind() == reflect.Struct && v.Type() != secretType {
		return reflect.Value{}, fmt.Errorf("sysparams: %s: is a section, name one of its fields", path)
	}
	return v, nil
}

// decodeText decodes the text form of a value of type t into dst (a
// pointer to a new t).
func decodeText(dst any, t reflect.Type, text string) error {
	quoted, _ := json.Marshal(text)
	switch {
	case t.Kind() == reflect.String || t == secretType:
		return json.Unmarshal(quoted, dst)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		s := strings.TrimSpace(text)
		if s == "" {
			return nil
		}
		if strings.HasPrefix(s, "[") {
			return json.Unmarshal([]byte(s), dst)
		}
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		b, _ := json.Marshal(parts)
		return json.Unmarshal(b, dst)
	}
	if err := json.Unmarshal([]byte(text), dst); err == nil {
		return nil
	} else if isTextual(t) {
		// Types with a string form (durations) take the bare text.
		// The type's own complaint about the text ("must be a duration
		// like 8d"), not the JSON decoder's about a bare word.
		return json.Unmarshal(quoted, dst)
	} else {
		switch t.Kind() {
		case reflect.Bool:
			return fmt.Errorf("must be true or false, got %q", text)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return fmt.Errorf("must be a whole number, got %q", text)
		}
		return err
	}
}
