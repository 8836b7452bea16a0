package pgstore

import (
	"encoding/json"
	"fmt"
)

// channel is the LISTEN/NOTIFY channel. Channels are database-wide, so the
// payload names the schema and the set.
const channel = "ucxkit_sysparams"

// maxPayload is PostgreSQL's limit on a NOTIFY payload (8000 bytes in the
// default configuration).
const maxPayload = 8000

// payload is the JSON sent with every saved revision.
type payload struct {
	Schema   string `json:"schema"`
	Name     string `json:"name"`
	Revision int64  `json:"revision"`
}

func (p payload) encode() string {
	b, _ := json.Marshal(p) // strings and an integer always marshal
	return string(b)
}

// parsePayload decodes a notification payload sent by encode.
func parsePayload(s string) (payload, error) {
	var p payload
	if len(s) > maxPayload {
		return p, fmt.Errorf("%w: %d bytes", ErrBadPayload, len(s))
	}
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return payload{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if p.Schema == "" || p.Name == "" || p.Revision <= 0 {
		return payload{}, fmt.Errorf("%w: schema, name and a positive revision are required", ErrBadPayload)
	}
	return p, nil
}
