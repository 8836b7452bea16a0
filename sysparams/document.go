package sysparams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Schema identifiers of the stored form.
const (
	// DocumentSchema names a parameter document.
	DocumentSchema = "ucxkit.sysparams"
	// SchemaVersion is the version this package writes and the newest it
	// reads.
	SchemaVersion = 1
)

// Document is the stored form of a parameter set, shared by the file store
// and the PostgreSQL store: the parameters as JSON with every secret
// redacted, and the secrets sealed by a Keyring under their field paths.
//
//	{"schema": "ucxkit.sysparams", "schema_version": 1, "revision": 3,
//	 "updated_at": "...", "key_id": "k...",
//	 "params": {... "password": "[REDACTED]" ...},
//	 "secrets": {"email.password": "v1:k...:..."}}
type Document struct {
	// Schema is DocumentSchema.
	Schema string `json:"schema"`
	// SchemaVersion is the version of the layout (SchemaVersion).
	SchemaVersion int `json:"schema_version"`
	// Revision counts saves: 1 for the first, +1 for each update.
	Revision int64 `json:"revision"`
	// UpdatedAt is when the revision was saved.
	UpdatedAt time.Time `json:"updated_at"`
	// KeyID is the primary key's ID when the document was sealed.
	KeyID string `json:"key_id,omitempty"`
	// Params is the JSON form of the parameters, secrets redacted.
	Params json.RawMessage `json:"params"`
	// Secrets maps each set secret's field path to its sealed value.
	Secrets map[string]string `json:"secrets,omitempty"`
}

// NewDocument seals p with k into a Document with the given revision and
// time. k may be nil only when p holds no secret.
func NewDocument(p *Params, k *Keyring, revision int64, now time.Time) (*Document, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, wrap("sysparams: encode", err)
	}
	d := &Document{Schema: DocumentSchema, SchemaVersion: SchemaVersion, Revision: revision, UpdatedAt: now.UTC(), Params: raw}
	for _, f := range secretFields(p) {
		s := f.get()
		if !s.IsSet() {
			continue
		}
		if k == nil {
			return nil, fmt.Errorf("sysparams: encode: %s is set but no keyring was given", f.path)
		}
		sealed, err := k.Seal(f.path, s)
		if err != nil {
			return nil, err
		}
		if d.Secrets == nil {
			d.Secrets = map[string]string{}
		}
		d.Secrets[f.path] = sealed
	}
	if k != nil {
		d.KeyID = k.PrimaryID()
	}
	return d, nil
}

// Decode opens the document's secrets with k and returns the parameters.
// k may be nil when the document holds no secret; otherwise a nil k fails
// with ErrKeyMissing. Errors wrap ErrForeign (another schema or a newer
// version), ErrCorrupt (unreadable parameters) or ErrDecrypt/ErrKeyUnknown.
func (d *Document) Decode(k *Keyring) (*Params, error) {
	if d.Schema != DocumentSchema {
		return nil, fmt.Errorf("%w: schema %q", ErrForeign, d.Schema)
	}
	if d.SchemaVersion < 1 || d.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("%w: schema version %d (this build reads 1-%d)", ErrForeign, d.SchemaVersion, SchemaVersion)
	}
	if len(d.Params) == 0 {
		return nil, fmt.Errorf("%w: no parameters", ErrCorrupt)
	}
	if len(d.Secrets) > 0 && k == nil {
		return nil, ErrKeyMissing
	}
	p, err := decodeWithSecrets(d.Params, d.Secrets, func(path, sealed string) (Secret, error) { return k.Open(path, sealed) })
	if err != nil {
		if errors.Is(err, ErrDecrypt) || errors.Is(err, ErrKeyUnknown) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, trimPkg(err.Error()))
	}
	return p, nil
}

// Marshal returns the document as indented JSON ending in a newline.
func (d *Document) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseDocument reads a document from JSON. Data that is not a JSON
// object is ErrCorrupt; an object without the schema marker is ErrForeign.
func ParseDocument(b []byte) (*Document, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrCorrupt)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrCorrupt)
	}
	if _, ok := probe["schema"]; !ok {
		return nil, fmt.Errorf("%w: no \"schema\" field", ErrForeign)
	}
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%w: %s", ErrCorrupt, valueError("", err))
		}
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, trimPkg(err.Error()))
	}
	if d.Schema != DocumentSchema {
		return nil, fmt.Errorf("%w: schema %q", ErrForeign, d.Schema)
	}
	return &d, nil
}
