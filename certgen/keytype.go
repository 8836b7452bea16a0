package certgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
)

// KeyType names the algorithm and size of the certificate's key. Its text
// and JSON form is the constant's value ("rsa2048", "ecdsa-p256"). The zero
// value means KeyRSA2048.
type KeyType string

// The key types Generate offers. Ed25519 is deliberately absent: PBXs (Cisco
// CUCM among them) do not accept it for SIP/TLS. RSA stops at 4096 bits,
// the largest CUCM imports; larger keys break SIP TLS on Cisco Expressway.
const (
	// KeyRSA2048 is the default: the widest PBX support.
	KeyRSA2048 KeyType = "rsa2048"
	// KeyRSA3072 matches the 128-bit security level of P-256.
	KeyRSA3072 KeyType = "rsa3072"
	// KeyRSA4096 is the largest RSA key CUCM accepts.
	KeyRSA4096 KeyType = "rsa4096"
	// KeyECDSAP256 is ECDSA on NIST P-256 (CUCM 11.0+ "CallManager-ECDSA").
	KeyECDSAP256 KeyType = "ecdsa-p256"
)

// KeyTypes returns the key types Generate accepts, default first (a new
// slice on each call).
func KeyTypes() []KeyType { return []KeyType{KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyECDSAP256} }

// ParseKeyType returns the KeyType named s. The empty string is KeyRSA2048.
func ParseKeyType(s string) (KeyType, error) {
	k := KeyType(s)
	if err := k.Validate(); err != nil {
		return "", err
	}
	return k.orDefault(), nil
}

// Validate reports whether k is one of KeyTypes or empty (the default).
func (k KeyType) Validate() error {
	if k == "" || k.rsaBits() > 0 || k == KeyECDSAP256 {
		return nil
	}
	return fmt.Errorf("must be one of rsa2048, rsa3072, rsa4096, ecdsa-p256, got %q", string(k))
}

// String returns the name; the zero value prints as "rsa2048".
func (k KeyType) String() string { return string(k.orDefault()) }

// UnmarshalText accepts exactly the names of KeyTypes (and "" for the
// default).
func (k *KeyType) UnmarshalText(b []byte) error {
	v, err := ParseKeyType(string(b))
	if err != nil {
		return fmt.Errorf("certgen: key type %w", err)
	}
	if len(b) == 0 {
		v = ""
	}
	*k = v
	return nil
}

func (k KeyType) orDefault() KeyType {
	if k == "" {
		return KeyRSA2048
	}
	return k
}

func (k KeyType) rsaBits() int {
	switch k.orDefault() {
	case KeyRSA2048:
		return 2048
	case KeyRSA3072:
		return 3072
	case KeyRSA4096:
		return 4096
	}
	return 0
}

// generate creates a new private key of type k (already validated).
func (k KeyType) generate() (crypto.Signer, error) {
	if bits := k.rsaBits(); bits > 0 {
		return rsa.GenerateKey(rand.Reader, bits)
	}
	if k == KeyECDSAP256 {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedKey, string(k))
}

// keyTypeOf names the type of an existing public key. Keys Generate would
// not create get a descriptive name that fails Validate ("rsa1024",
// "ecdsa-p384", "ed25519").
func keyTypeOf(pub crypto.PublicKey) KeyType {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return KeyType(fmt.Sprintf("rsa%d", p.N.BitLen()))
	case ed25519.PublicKey:
		return "ed25519"
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return KeyECDSAP256
		case elliptic.P384():
			return "ecdsa-p384"
		case elliptic.P521():
			return "ecdsa-p521"
		}
		return "ecdsa"
	}
	return KeyType(fmt.Sprintf("%T", pub))
}
