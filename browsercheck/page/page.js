// ccp-preflight's browser check (docs/BROWSER.md). Served by ccp-preflight
// on 127.0.0.1 under a one-time token; it reads its settings from
// ./config once, runs the four checks, shows what it found, and posts the
// facts to ./result. ccp-preflight grades them: this page only reports.
// No external assets, no inline script (the CSP allows 'self' only).
'use strict';

(function () {
  const answer = { version: 1, errors: [] };
  const started = performance.now();
  const since = (t0) => Math.round(performance.now() - t0);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const errText = (e) => (e && (e.name ? e.name + ': ' : '') + (e.message || String(e))) || 'unknown error';

  function show(id, status, info) {
    const row = document.getElementById('row-' + id);
    if (!row) return;
    const st = row.querySelector('.st');
    st.textContent = status;
    st.className = 'st ' + status.split(' ')[0];
    if (info !== undefined) row.querySelector('.info').textContent = info;
  }
  function state(text) { document.getElementById('state').textContent = text; }

  // withTimeout resolves to p's value, or to onTimeout() after ms.
  function withTimeout(p, ms, onTimeout) {
    let timer;
    return Promise.race([
      p.finally(() => clearTimeout(timer)),
      new Promise((resolve) => { timer = setTimeout(() => resolve(onTimeout()), ms); }),
    ]);
  }

  // ---- browser.support -------------------------------------------------
  function support() {
    const s = {
      user_agent: navigator.userAgent || '',
      brands: [],
      platform: '',
      mobile: false,
      secure_context: !!window.isSecureContext,
      rtc_peer_connection: typeof window.RTCPeerConnection === 'function',
      get_user_media: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
      get_stats: !!(window.RTCPeerConnection && RTCPeerConnection.prototype.getStats),
      permissions_api: !!(navigator.permissions && navigator.permissions.query),
    };
    const uad = navigator.userAgentData;
    if (uad) {
      s.brands = (uad.brands || []).map((b) => ({ brand: String(b.brand), version: String(b.version) }));
      s.platform = String(uad.platform || '');
      s.mobile = !!uad.mobile;
    }
    answer.support = s;
    const ok = s.secure_context && s.rtc_peer_connection && s.get_user_media;
    show('support', ok ? 'done' : 'fail', (s.brands.map((b) => b.brand + ' ' + b.version).join(', ') || s.user_agent) +
      (ok ? '; WebRTC present' : '; WebRTC or a secure context is missing'));
  }

  // ---- browser.microphone ----------------------------------------------
  // Measures the level on the track for levelMS: the peak and RMS of the
  // samples (MediaStreamTrackProcessor where the browser has it, else an
  // AudioContext analyser; a suspended AudioContext measures nothing).
  async function level(track, levelMS) {
    const out = { method: 'none', peak: 0, rms: 0, ms: 0 };
    const t0 = performance.now();
    if (typeof window.MediaStreamTrackProcessor === 'function') {
      out.method = 'track-processor';
      const proc = new MediaStreamTrackProcessor({ track: track.clone() });
      const reader = proc.readable.getReader();
      let sum = 0, n = 0;
      const stop = setTimeout(() => reader.cancel().catch(() => {}), levelMS);
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done || !value) break;
          try {
            const frames = value.numberOfFrames;
            const buf = new Float32Array(frames);
            value.copyTo(buf, { planeIndex: 0, format: 'f32-planar' });
            for (let i = 0; i < frames; i++) {
              const v = Math.abs(buf[i]);
              if (v > out.peak) out.peak = v;
              sum += buf[i] * buf[i];
            }
            n += frames;
          } finally { value.close(); }
          if (performance.now() - t0 >= levelMS) break;
        }
      } catch (e) { answer.errors.push('level: ' + errText(e)); }
      clearTimeout(stop);
      reader.cancel().catch(() => {});
      out.rms = n ? Math.sqrt(sum / n) : 0;
      out.ms = since(t0);
      return out;
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return out;
    const ctx = new AC();
    try {
      if (ctx.state !== 'running') { await withTimeout(ctx.resume(), 500, () => null); }
      if (ctx.state !== 'running') { out.method = 'audio-context-suspended'; return out; }
      out.method = 'audio-context';
      const src = ctx.createMediaStreamSource(new MediaStream([track]));
      const an = ctx.createAnalyser();
      an.fftSize = 2048;
      src.connect(an);
      const buf = new Float32Array(an.fftSize);
      let sum = 0, n = 0;
      while (performance.now() - t0 < levelMS) {
        an.getFloatTimeDomainData(buf);
        for (let i = 0; i < buf.length; i++) {
          const v = Math.abs(buf[i]);
          if (v > out.peak) out.peak = v;
          sum += buf[i] * buf[i];
        }
        n += buf.length;
        await sleep(40);
      }
      out.rms = n ? Math.sqrt(sum / n) : 0;
    } finally { ctx.close().catch(() => {}); }
    out.ms = since(t0);
    return out;
  }

  let micTrack = null; // kept for browser.relay: the CCP sends the microphone

  async function microphone(cfg) {
    const m = { permission_before: 'unknown', outcome: '', error_name: '', error_message: '', devices: -1, level_method: 'none', peak: 0, rms: 0, level_ms: 0, elapsed_ms: 0 };
    answer.microphone = m;
    const t0 = performance.now();
    show('microphone', 'running', 'asking for the microphone…');
    try {
      if (navigator.permissions && navigator.permissions.query) {
        const p = await withTimeout(navigator.permissions.query({ name: 'microphone' }), 1000, () => null);
        if (p) m.permission_before = p.state;
      }
    } catch (e) { m.permission_before = 'unknown'; }
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
      m.outcome = 'unsupported';
      show('microphone', 'fail', 'this browser has no getUserMedia');
      return;
    }
    let stream = null;
    try {
      stream = await withTimeout(navigator.mediaDevices.getUserMedia({ audio: true }), cfg.mic_prompt_ms, () => 'timeout');
    } catch (e) {
      m.error_name = String(e && e.name || 'Error');
      m.error_message = String(e && e.message || '');
      m.outcome = { NotAllowedError: 'denied', SecurityError: 'denied', NotFoundError: 'no-device', OverconstrainedError: 'no-device', NotReadableError: 'in-use', AbortError: 'in-use' }[m.error_name] || 'error';
    }
    if (stream === 'timeout') { m.outcome = 'timeout'; stream = null; }
    try {
      const devs = await withTimeout(navigator.mediaDevices.enumerateDevices(), 2000, () => null);
      if (devs) m.devices = devs.filter((d) => d.kind === 'audioinput').length;
    } catch (e) { m.devices = -1; }
    if (!stream) {
      m.elapsed_ms = since(t0);
      show('microphone', 'fail', 'no microphone: ' + m.outcome + (m.error_name ? ' (' + m.error_name + ')' : ''));
      return;
    }
    m.outcome = 'granted';
    const track = stream.getAudioTracks()[0];
    if (!track) {
      m.outcome = 'no-device';
      show('microphone', 'fail', 'the microphone stream has no audio track');
      return;
    }
    micTrack = track.clone();
    show('microphone', 'running', 'allowed; listening for ' + (cfg.level_ms / 1000) + ' s…');
    const lv = await level(track, cfg.level_ms);
    m.level_method = lv.method; m.peak = lv.peak; m.rms = lv.rms; m.level_ms = lv.ms;
    stream.getTracks().forEach((t) => t.stop());
    m.elapsed_ms = since(t0);
    show('microphone', 'done', 'allowed; ' + m.devices + ' input device(s); peak level ' + lv.peak.toFixed(3));
  }

  // ---- browser.udp -------------------------------------------------------
  function parseCand(c) {
    // candidate:FOUNDATION COMPONENT PROTOCOL PRIORITY ADDRESS PORT typ TYPE ...
    const f = String(c.candidate || '').split(' ');
    return {
      protocol: String(c.protocol || f[2] || '').toLowerCase(),
      address: String(c.address || f[4] || ''),
      port: Number(c.port || f[5] || 0),
      type: String(c.type || f[7] || ''),
    };
  }

  // gather runs ICE gathering on one RTCPeerConnection with iceServers and
  // collects every candidate and candidate error until gathering completes
  // or ms pass.
  async function gather(iceServers, ms, policy) {
    const out = { candidates: [], errors: [], complete: false, elapsed_ms: 0 };
    const t0 = performance.now();
    let pc;
    try {
      pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: policy || 'all' });
    } catch (e) {
      out.errors.push({ code: 0, text: errText(e), url: '' });
      return out;
    }
    const done = new Promise((resolve) => {
      pc.onicecandidate = (ev) => {
        if (!ev.candidate) { out.complete = true; resolve(); return; }
        if (ev.candidate.candidate) out.candidates.push(parseCand(ev.candidate));
      };
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') { out.complete = true; resolve(); } };
    });
    pc.onicecandidateerror = (ev) => {
      out.errors.push({ code: Number(ev.errorCode || 0), text: String(ev.errorText || ''), url: String(ev.url || '') });
    };
    try {
      pc.createDataChannel('preflight');
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      await withTimeout(done, ms, () => null);
    } catch (e) {
      out.errors.push({ code: 0, text: errText(e), url: '' });
    }
    out.elapsed_ms = since(t0);
    pc.close();
    return out;
  }

  async function udp(cfg) {
    const u = { servers: [], elapsed_ms: 0 };
    answer.udp = u;
    const t0 = performance.now();
    show('udp', 'running', 'asking ' + cfg.stun.length + ' STUN server(s) on UDP…');
    const results = await Promise.all(cfg.stun.map((url) => gather([{ urls: url }], cfg.udp_ms, 'all')));
    results.forEach((g, i) => {
      u.servers.push({
        url: cfg.stun[i],
        srflx: g.candidates.filter((c) => c.type === 'srflx').map((c) => c.address + ':' + c.port),
        host_udp: g.candidates.filter((c) => c.type === 'host' && c.protocol === 'udp').length,
        host_tcp: g.candidates.filter((c) => c.type === 'host' && c.protocol === 'tcp').length,
        errors: g.errors,
        complete: g.complete,
        elapsed_ms: g.elapsed_ms,
      });
    });
    u.elapsed_ms = since(t0);
    const answered = u.servers.filter((s) => s.srflx.length > 0).length;
    show('udp', 'done', answered + ' of ' + u.servers.length + ' server(s) gave a reflexive address');
  }

  // ---- browser.relay ---------------------------------------------------
  // audioSource is what the test call sends: the microphone when allowed
  // (as the CCP does), else a generated tone.
  function audioSource() {
    if (micTrack && micTrack.readyState === 'live') { const t = micTrack.clone(); return { track: t, source: 'microphone', stop: () => t.stop() }; }
    if (typeof window.MediaStreamTrackGenerator === 'function' && typeof window.AudioData === 'function') {
      const gen = new MediaStreamTrackGenerator({ kind: 'audio' });
      const w = gen.writable.getWriter();
      let ts = 0, phase = 0, running = true;
      const tick = () => {
        if (!running) return;
        // 20 ms of a 440 Hz tone at 48 kHz per tick.
        const n = 960, data = new Float32Array(n);
        for (let i = 0; i < n; i++) { data[i] = 0.2 * Math.sin(phase); phase += 2 * Math.PI * 440 / 48000; }
        w.write(new AudioData({ format: 'f32-planar', sampleRate: 48000, numberOfFrames: n, numberOfChannels: 1, timestamp: ts, data })).catch(() => {});
        ts += 20000;
      };
      const timer = setInterval(tick, 20);
      return { track: gen, source: 'generated tone', stop: () => { running = false; clearInterval(timer); w.close().catch(() => {}); } };
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    const ctx = new AC();
    const osc = ctx.createOscillator();
    const dst = ctx.createMediaStreamDestination();
    osc.connect(dst); osc.start();
    return { track: dst.stream.getAudioTracks()[0], source: 'oscillator (' + ctx.state + ')', stop: () => ctx.close().catch(() => {}) };
  }

  async function statsOf(pc) {
    const out = {};
    try { (await pc.getStats()).forEach((s) => { out[s.id] = s; }); } catch (e) { answer.errors.push('getStats: ' + errText(e)); }
    return Object.values(out);
  }

  // call makes one relay-only call between two RTCPeerConnections of this
  // page through the TURN server of one ICE server entry, sends audio for
  // duration_ms and reads getStats() on both ends.
  async function call(cfg, server) {
    const r = { urls: [].concat(server.urls), outcome: '', error: '', source: '', setup_ms: 0, ice_connected_ms: 0, duration_ms: 0,
      relay_candidates_a: 0, relay_candidates_b: 0, ice_errors: [], ice_state: '', connection_state: '', codec: '',
      packets_sent: 0, packets_in_window: 0, packets_received: 0, packets_lost: 0, jitter_ms: -1, rtt_ms: -1, pair_rtt_ms: -1, concealed_samples: 0, total_samples: 0 };
    const conf = { iceServers: [server], iceTransportPolicy: 'relay', bundlePolicy: 'balanced', rtcpMuxPolicy: 'require' };
    let a, b, src;
    const t0 = performance.now();
    try {
      a = new RTCPeerConnection(conf);
      b = new RTCPeerConnection(conf);
      a.onicecandidate = (ev) => { if (ev.candidate && ev.candidate.candidate) { if (parseCand(ev.candidate).type === 'relay') r.relay_candidates_a++; b.addIceCandidate(ev.candidate).catch(() => {}); } };
      b.onicecandidate = (ev) => { if (ev.candidate && ev.candidate.candidate) { if (parseCand(ev.candidate).type === 'relay') r.relay_candidates_b++; a.addIceCandidate(ev.candidate).catch(() => {}); } };
      const iceErr = (ev) => { if (r.ice_errors.length < 8) r.ice_errors.push({ code: Number(ev.errorCode || 0), text: String(ev.errorText || ''), url: String(ev.url || '') }); };
      a.onicecandidateerror = iceErr; b.onicecandidateerror = iceErr;
      src = audioSource();
      r.source = src.source;
      a.addTrack(src.track, new MediaStream([src.track]));
      const connected = new Promise((resolve) => {
        const check = () => {
          if (!r.ice_connected_ms && (a.iceConnectionState === 'connected' || a.iceConnectionState === 'completed')) r.ice_connected_ms = since(t0);
          if (a.connectionState === 'connected' && b.connectionState === 'connected') resolve('connected');
          if (a.connectionState === 'failed' || b.connectionState === 'failed') resolve('failed');
        };
        a.onconnectionstatechange = check; b.onconnectionstatechange = check;
        a.oniceconnectionstatechange = check;
        // Gathering over without a single relay candidate: nothing to wait for.
        a.onicegatheringstatechange = () => { if (a.iceGatheringState === 'complete' && r.relay_candidates_a === 0) resolve('no-candidates'); };
      });
      const offer = await a.createOffer();
      await a.setLocalDescription(offer);
      await b.setRemoteDescription(offer);
      const ans = await b.createAnswer();
      await b.setLocalDescription(ans);
      await a.setRemoteDescription(ans);
      const st = await withTimeout(connected, cfg.relay_setup_ms, () => 'timeout');
      r.ice_state = a.iceConnectionState; r.connection_state = a.connectionState;
      r.setup_ms = since(t0);
      if (st !== 'connected') {
        r.outcome = (a.iceConnectionState === 'connected' || a.iceConnectionState === 'completed') ? 'dtls-failed' : 'ice-failed';
        return r;
      }
      const sentNow = async () => { const o = (await statsOf(a)).find((s) => s.type === 'outbound-rtp' && s.kind === 'audio'); return o ? (o.packetsSent || 0) : 0; };
      const sent0 = await sentNow();
      const m0 = performance.now();
      await sleep(cfg.duration_ms);
      r.duration_ms = since(m0);
      r.packets_in_window = Math.max(0, (await sentNow()) - sent0);
      // Let the last RTCP reports arrive.
      await sleep(300);
      const sa = await statsOf(a), sb = await statsOf(b);
      const out = sa.find((s) => s.type === 'outbound-rtp' && s.kind === 'audio');
      const rin = sa.find((s) => s.type === 'remote-inbound-rtp' && s.kind === 'audio');
      const inb = sb.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
      const pair = sa.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') || sa.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded');
      if (out) { r.packets_sent = out.packetsSent || 0; const c = sa.find((s) => s.id === out.codecId); if (c) r.codec = String(c.mimeType || ''); }
      if (inb) {
        r.packets_received = inb.packetsReceived || 0;
        r.packets_lost = Math.max(0, inb.packetsLost || 0);
        if (typeof inb.jitter === 'number') r.jitter_ms = inb.jitter * 1000;
        r.concealed_samples = inb.concealedSamples || 0;
        r.total_samples = inb.totalSamplesReceived || 0;
      }
      if (rin && typeof rin.roundTripTime === 'number') r.rtt_ms = rin.roundTripTime * 1000;
      if (pair && typeof pair.currentRoundTripTime === 'number') r.pair_rtt_ms = pair.currentRoundTripTime * 1000;
      r.outcome = r.packets_received > 0 ? 'connected' : 'no-media';
    } catch (e) {
      r.outcome = 'error'; r.error = errText(e);
    } finally {
      if (a) { r.ice_state = r.ice_state || a.iceConnectionState; a.close(); }
      if (b) b.close();
      if (src) src.stop();
    }
    return r;
  }

  async function relay(cfg) {
    const servers = cfg.ice_servers || [];
    answer.relay = [];
    if (!servers.length) { show('relay', 'skip', 'no TURN credentials given to ccp-preflight'); return; }
    if (typeof window.RTCPeerConnection !== 'function') { show('relay', 'fail', 'no RTCPeerConnection'); return; }
    show('relay', 'running', 'a relay-only call through TURN for ' + (cfg.duration_ms / 1000) + ' s…');
    answer.relay = await Promise.all(servers.map((s) => call(cfg, s)));
    show('relay', 'done', answer.relay.map((r) => r.outcome === 'connected'
      ? 'received ' + r.packets_received + ' of ' + r.packets_sent + ' packets' + (r.rtt_ms >= 0 ? ', RTT ' + r.rtt_ms.toFixed(1) + ' ms' : '') + (r.jitter_ms >= 0 ? ', jitter ' + r.jitter_ms.toFixed(1) + ' ms' : '')
      : 'did not connect (' + r.outcome + (r.error ? ': ' + r.error : '') + ')').join('; '));
  }

  // ---- run -----------------------------------------------------------------
  async function post(partial) {
    answer.partial = !!partial;
    answer.elapsed_ms = since(started);
    const res = await fetch('result', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(answer), cache: 'no-store', credentials: 'omit' });
    if (!res.ok) throw new Error('ccp-preflight refused the results: HTTP ' + res.status + ' ' + (await res.text()).slice(0, 200));
  }

  async function main() {
    let cfg;
    try {
      const res = await fetch('config', { headers: { 'X-Preflight': '1' }, cache: 'no-store', credentials: 'omit' });
      if (!res.ok) { state('This page was already used, or ccp-preflight has stopped (HTTP ' + res.status + '). Run the check again.'); return; }
      cfg = await res.json();
    } catch (e) { state('Cannot reach ccp-preflight: ' + errText(e)); return; }
    state('Checking…');
    let posted = false;
    const finish = async (partial) => {
      if (posted) return;
      posted = true;
      try {
        await post(partial);
        state(partial ? 'Time is up: the results so far were sent to ccp-preflight. Its report has the verdict; you can close this tab.'
          : 'Done: the results were sent to ccp-preflight. Its report has the verdict; you can close this tab.');
      } catch (e) { state('Could not send the results: ' + errText(e)); }
    };
    // Post what is known before ccp-preflight stops waiting.
    const cut = setTimeout(() => { answer.errors.push('the page ran out of time'); finish(true); }, Math.max(0, cfg.budget_ms));
    try {
      support();
      await Promise.all([
        microphone(cfg).catch((e) => answer.errors.push('microphone: ' + errText(e))),
        udp(cfg).catch((e) => answer.errors.push('udp: ' + errText(e))),
      ]);
      await relay(cfg).catch((e) => answer.errors.push('relay: ' + errText(e)));
    } catch (e) { answer.errors.push(errText(e)); }
    if (micTrack) micTrack.stop();
    clearTimeout(cut);
    await finish(false);
  }
  main();
}());
