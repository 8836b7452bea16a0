package sysparams

import (
	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// ProxySettings is the seed's "Proxy settings".
type ProxySettings struct {
	// HTTP is the HTTP/HTTPS proxy; nil means none.
	HTTP *ProxyServer `json:"http,omitempty"`
	// SOCKS is the SOCKS v4/v5 proxy; nil means none.
	SOCKS *ProxyServer `json:"socks,omitempty"`
	// Bypass lists hosts reached directly.
	Bypass []string `json:"bypass,omitempty"`
}

// ProxyServer is one proxy.
type ProxyServer struct {
	Address  string `json:"address"`
	Port     int    `json:"port"`
	Username string `json:"username,omitempty"`
	Password Secret `json:"password,omitempty"`
	Version  int    `json:"version,omitempty"`
}

// Validate reports every problem.
func (p ProxySettings) Validate() error {
	var l fielderr.List
	for _, s := range []struct {
		n string
		v *ProxyServer
	}{{"http", p.HTTP}, {"socks", p.SOCKS}} {
		if s.v == nil {
			continue
		}
		if s.v.Address == "" {
			l.Add(s.n+".address", "is mandatory")
		}
		if s.v.Port < 1 || s.v.Port > 65535 {
			l.Add(s.n+".port", "must be 1-65535, got %d", s.v.Port)
		}
	}
	return l.Err()
}

func (p *Params) httpProxySet() bool  { return p.Proxy.HTTP != nil && p.Proxy.HTTP.Address != "" }
func (p *Params) socksProxySet() bool { return p.Proxy.SOCKS != nil && p.Proxy.SOCKS.Address != "" }
