package report

// Environment is the computer a run was made on, for the reader in IT:
// what the HTML report's environment block and the text summary show.
// Every field may be empty when unknown.
type Environment struct {
	// Hostname is the computer's name.
	Hostname string `json:"hostname,omitempty"`
	// OS is the operating system and its version ("Debian GNU/Linux 12
	// (bookworm)", "Windows 10.0.22631").
	OS string `json:"os,omitempty"`
	// LocalIP and Interface are the source address and interface of the
	// default IPv4 route.
	LocalIP   string `json:"local_ip,omitempty"`
	Interface string `json:"interface,omitempty"`
	// IPv6 says whether this computer has an IPv6 route to the internet,
	// in words ("yes, from 2001:db8::5 on eth0" / "no IPv6 route").
	IPv6 string `json:"ipv6,omitempty"`
}
