package report

// metricNames are the Prometheus names of the results' metrics, curated:
// one name per idea (a check's "sent", "sent_packets" and "packets_sent"
// are all ccp_preflight_packets_sent), base units in the name (seconds,
// ratio), and real help text. Metrics no check sets today fall back to
// metricName's rule. Every result metric is a gauge: a value of the last
// run, not a counter (those end in _total and come from serve itself).
// A key mapped to "" is not exported (the run-level metric covers it).
var metricNames = map[string]struct {
	name, help string
}{
	"rtt_ms":                {"rtt_seconds", "Round-trip time to the target measured by the check (the mean, for a media stream), in seconds."},
	"rtt_min_ms":            {"rtt_min_seconds", "Lowest round-trip time the check measured (of the media stream, or of the timed HTTPS requests), in seconds."},
	"rtt_max_ms":            {"rtt_max_seconds", "Highest round-trip time the check measured (of the media stream, or of the timed HTTPS requests), in seconds."},
	"rtt_p95_ms":            {"rtt_p95_seconds", "95th percentile of the media stream's round-trip times, in seconds."},
	"small_rtt_ms":          {"small_datagram_rtt_seconds", "Round-trip time of the small control datagrams of the large-datagram check, in seconds."},
	"loop_rtt_ms":           {"relay_loop_rtt_seconds", "Round-trip time of RTP through the TURN relay and back (media.relay), in seconds."},
	"jitter_ms":             {"jitter_seconds", "Interarrival jitter (RFC 3550) measured by the check, one way (estimated from the round trip as its value over √2), in seconds."},
	"jitter_rtt_ms":         {"jitter_round_trip_seconds", "Interarrival jitter (RFC 3550) of the echoed stream, over the round trip, in seconds."},
	"jitter_loop_ms":        {"jitter_relay_loop_seconds", "Interarrival jitter (RFC 3550) over the relay loop of the test call (the path crossed twice), in seconds."},
	"first_answer_ms":       {"tls_first_answer_seconds", "Time from the ClientHello to the server's first answer bytes, in seconds."},
	"up_max_bytes":          {"datagram_up_max_bytes", "Largest UDP datagram that reached the TURN server from this computer (upstream), in bytes."},
	"down_max_bytes":        {"datagram_down_max_bytes", "Largest UDP datagram that reached this computer from the TURN server (downstream), in bytes."},
	"jitter_max_window_ms":  {"jitter_max_window_seconds", "Highest one-second jitter of the media stream, in seconds."},
	"mouth_to_ear_ms":       {"mouth_to_ear_delay_seconds", "Estimated one-way mouth-to-ear delay of a call on this path (ITU-T G.114), in seconds."},
	"send_late_p99_ms":      {"send_late_p99_seconds", "99th percentile of how late this computer sent the paced packets (a busy computer inflates jitter), in seconds."},
	"loss_ratio":            {"loss_ratio", "Share of packets lost (0-1) measured by the check."},
	"loss_max_window_ratio": {"loss_max_window_ratio", "Highest one-second packet loss (0-1) of the media stream."},
	"burst_loss_ratio":      {"burst_loss_ratio", "Share of packets lost in bursts (0-1) of the media stream."},
	"burst_ratio":           {"loss_burst_ratio", "Burst ratio of the losses (ITU-T G.113 BurstR): 1 for random loss, above 1 for bursty loss."},
	"reorder_ratio":         {"reorder_ratio", "Share of packets that arrived out of order (0-1)."},
	"duplicate_ratio":       {"duplicate_ratio", "Share of packets that arrived twice (0-1)."},
	"mos":                   {"mos", "Estimated call quality as a mean opinion score (1-5, ITU-T G.107 E-model)."},
	"sent":                  {"packets_sent", "Packets (datagrams) the check sent in the last run."},
	"sent_packets":          {"packets_sent", "Packets (datagrams) the check sent in the last run."},
	"packets_sent":          {"packets_sent", "Packets (datagrams) the check sent in the last run."},
	"received_packets":      {"packets_received", "Packets (datagrams) the check received in the last run."},
	"packets_received":      {"packets_received", "Packets (datagrams) the check received in the last run."},
	"duplicates":            {"packets_duplicated", "Packets the check received twice in the last run."},
	"addresses":             {"dns_addresses", "Addresses the target's name resolved to."},
	"outside_ranges":        {"addresses_outside_ranges", "Resolved addresses of the target outside AWS's published IP ranges."},
	"connect_ms":            {"tcp_connect_seconds", "Time to open TCP to the target (or to the proxy), in seconds."},
	"proxy_connect_ms":      {"proxy_tunnel_seconds", "Time the proxy took to answer CONNECT for the target, in seconds."},
	"handshake_ms":          {"tls_handshake_seconds", "TLS handshake time with the target, in seconds."},
	"allocate_ms":           {"turn_allocate_seconds", "Time to get a TURN relay allocation, in seconds."},
	"limit_rtt_ms":          {"turn_limit_rtt_seconds", "Largest round trip the TURN allocation exchange showed (TCP connect, TLS handshake, first TURN answer): what that check's time limit scales with, in seconds."},
	"ice_ms":                {"ice_connect_seconds", "Time for ICE to connect two relay-only peers through TURN, in seconds."},
	"dtls_ms":               {"dtls_handshake_seconds", "DTLS handshake time of the relay-only WebRTC call, in seconds."},
	"skew_ms":               {"clock_skew_seconds", "This computer's clock minus the HTTPS endpoint's (Date header), in seconds; beyond ±10 s sign-in breaks."},
	"uncertainty_ms":        {"clock_skew_uncertainty_seconds", "Uncertainty of the clock skew measurement (half the round trip plus the Date header's 1 s resolution), in seconds."},
	"mapping_failures":      {"capacity_mapping_failures", "Streams whose NAT mapping failed, was shared or changed at the highest load of the capacity check."},
	"streams_asked":         {"capacity_streams_asked", "Concurrent agent streams the capacity check was asked to reach."},
	"streams_held":          {"capacity_streams_held", "Concurrent agent streams the site carried within the thresholds."},
	"streams_breach":        {"capacity_streams_breach", "Concurrent agent streams at which a threshold was first breached (0: none)."},
	"large_bytes":           {"large_datagram_bytes", "Size of the large UDP datagrams the check sent, in bytes."},
	// The browser's own checks (check --browser), and the tool's figures
	// set beside them.
	"setup_ms":            {"browser_call_setup_seconds", "Time the browser's relay-only call took to connect, in seconds."},
	"gather_ms":           {"ice_gather_seconds", "Time the browser took to gather its ICE candidates, in seconds."},
	"host_udp_candidates": {"browser_host_udp_candidates", "Host UDP candidates the browser offered (0: its WebRTC IP handling policy hides them)."},
	"packets_per_s":       {"packets_per_second", "Packets per second the browser's call carried."},
	"concealment_ratio":   {"concealment_ratio", "Share of audio samples the browser had to conceal (0-1)."},
	"input_devices":       {"microphone_input_devices", "Audio input devices the browser sees."},
	"peak_dbfs":           {"microphone_peak_dbfs", "Peak microphone level the browser measured, in dBFS (0 is full scale)."},
	"rms_dbfs":            {"microphone_rms_dbfs", "RMS microphone level the browser measured, in dBFS."},
	"browser_major":       {"browser_major_version", "Major version of the browser that ran the checks."},
	"tool_rtt_ms":         {"tool_rtt_seconds", "The tool's own relay call's round-trip time beside the browser's, in seconds."},
	"tool_jitter_ms":      {"tool_jitter_seconds", "The tool's own relay call's jitter beside the browser's, in seconds."},
	"tool_loss_ratio":     {"tool_loss_ratio", "The tool's own relay call's packet loss (0-1) beside the browser's."},
	// The CCP's signaling path: the WebSocket held open, and the timed
	// HTTPS round trips to the signaling host.
	"tls_ms":      {"tls_handshake_seconds", "TLS handshake time with the target, in seconds."},
	"upgrade_ms":  {"websocket_upgrade_seconds", "Time the WebSocket upgrade request took to be answered, in seconds."},
	"ping_ms":     {"websocket_ping_rtt_seconds", "Round-trip time of the first ping on the open WebSocket, in seconds."},
	"ping_max_ms": {"websocket_ping_rtt_max_seconds", "Highest ping round-trip time while the WebSocket was held open, in seconds."},
	"pings":       {"websocket_pings_answered", "Pings the WebSocket answered while it was held open."},
	"open_s":      {"websocket_open_seconds", "How long the WebSocket stayed open (until the hold ended, or until it broke), in seconds."},
	"idle_s":      {"websocket_idle_before_break_seconds", "How long the WebSocket had been idle when it broke, in seconds."},
	"samples":     {"rtt_samples", "Round trips the check timed (its RTT is their median)."},
	// ranges.freshness's age: ccp_preflight_ranges_age_seconds (run level).
	"age_s":    {"", ""},
	"age_days": {"", ""},
}
