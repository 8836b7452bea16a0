package sysparams

func setTestHTTPProxy(p *Params) {
	p.Proxy.HTTP = &ProxyServer{Address: "10.0.0.2", Port: 3128, Username: "u", Password: "proxy-pw"}
}
