// What each transport costs, measured the way a browser allows: requests
// counted as they are made; bytes from Resource Timing for HTTP (the
// browser's own transfer sizes), from the frames for WebSocket; latency
// from the server's ts and the server clock offset (like the desktop's
// dx-server-clock.c and dx-stats.c). Numbers the browser hides are not
// guessed: the page says which they are (view.js).

const MAX_SAMPLES = 2000;

export class Stats {
  constructor(mode) {
    this.mode = mode;
    // fetch pools keep-alive connections and Resource Timing does not say
    // when it opened one (on loopback connectStart == connectEnd even for a
    // new one): polling's connection count is hidden, not guessed.
    this.connectionsHidden = mode === "poll" || mode === "longpoll";
    this.reset();
  }

  reset() {
    this.requests = 0;
    this.bytesUp = 0;
    this.bytesDown = 0;
    this.connections = 0;
    this.emptyPolls = 0;
    this.messages = 0;
    this.samples = [];
    this.pendingDown = 0; // SSE: event bytes of open streams (a lower bound)
  }

  addLatency(ms) {
    this.samples.push(ms);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }

  // Nearest-rank percentile (as dx-stats.c), or NaN without samples.
  percentile(p) {
    const n = this.samples.length;
    if (n === 0) return NaN;
    const sorted = this.samples.slice().sort((a, b) => a - b);
    const rank = Math.min(Math.max(Math.ceil((p / 100) * n), 1), n);
    return sorted[rank - 1];
  }

  toJSON() {
    return {
      mode: this.mode,
      requests: this.requests,
      bytes_up: this.bytesUp,
      bytes_down: this.bytesDown + this.pendingDown,
      connections: this.connectionsHidden ? null : this.connections,
      empty_polls: this.emptyPolls,
      messages: this.messages,
      latency_p50_ms: this.percentile(50),
      latency_p95_ms: this.percentile(95),
      latency_samples: this.samples.length,
    };
  }
}

// UTF-8 length of a string.
const encoder = new TextEncoder();
export function utf8Length(s) {
  return encoder.encode(s).length;
}

// Bytes of one WebSocket frame carrying n payload bytes (RFC 6455 5.2):
// 2 header bytes, 2 or 8 more for a longer payload, 4 for the mask that
// every client-to-server frame carries.
export function wsFrameBytes(n, masked) {
  return 2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + (masked ? 4 : 0) + n;
}

// Local wall-clock time in ms with sub-millisecond steps (Date.now() has
// whole milliseconds, too coarse for a loopback WebSocket).
function wallNow() {
  return performance.timeOrigin + performance.now();
}

// The server's clock: offset = server time - local time, NTP-style from
// GET /api/v1/time, keeping the fastest round trip (an old best sample
// ages, so a drifting clock is followed).
export class ServerClock {
  constructor(onChange) {
    this.offset = 0;
    this.known = false;
    this.bestRtt = -1;
    this.onChange = onChange;
    this.ticks = 0;
    this.timer = 0;
  }

  start() {
    this.stop();
    this.ticks = 0;
    this.measure();
    // Four quick samples, then one a minute (as dx-server-clock.c).
    this.timer = setInterval(() => {
      this.ticks++;
      if (this.ticks <= 4 || this.ticks % 60 === 0) this.measure();
    }, 1000);
  }

  stop() {
    clearInterval(this.timer);
  }

  async measure() {
    if (this.bestRtt >= 0) this.bestRtt = this.bestRtt * 1.5 + 1;
    const t0 = performance.now();
    const w0 = wallNow();
    try {
      const r = await fetch("/api/v1/time", { cache: "no-store" });
      const j = await r.json();
      const rtt = performance.now() - t0;
      if (typeof j.ts === "number" && (this.bestRtt < 0 || rtt <= this.bestRtt)) {
        this.bestRtt = rtt;
        this.offset = j.ts - (w0 + rtt / 2);
        this.known = true;
        if (this.onChange) this.onChange(this);
      }
    } catch (e) {
      // The server is away: the last offset stays.
    }
  }

  // The server's time now, in ms since the epoch.
  now() {
    return wallNow() + this.offset;
  }
}

// Resource Timing entries of the requests the page marks (each carries a
// unique r= query parameter), handed to the callback given for the URL.
// A PerformanceObserver sees every entry, so the 250-entry buffer never
// fills: it is cleared as entries are taken.
export class ResourceTracker {
  constructor() {
    this.waiting = new Map();
    this.seq = 0;
    if (typeof PerformanceObserver === "undefined") return;
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const cb = this.waiting.get(e.name);
        if (cb) {
          this.waiting.delete(e.name);
          cb(e);
        }
      }
      performance.clearResourceTimings();
    });
    this.observer.observe({ type: "resource", buffered: true });
  }

  // url with a fresh marker; cb(entry) runs when the browser reports it.
  mark(url, cb) {
    const marked = url + (url.includes("?") ? "&" : "?") + "r=" + ++this.seq;
    this.waiting.set(new URL(marked, location.href).href, cb);
    return marked;
  }

  forget(url) {
    this.waiting.delete(new URL(url, location.href).href);
  }
}

// Bytes received for one HTTP exchange as the browser reports them:
// transferSize is the body as received plus a fixed 300 bytes Chromium
// reports for the response headers (it hides their real size; measured:
// transferSize - encodedBodySize == 300 on every answer of duplexd).
export function entryBytes(e) {
  return e.transferSize || 0;
}
