// The four ways a browser can carry the chat (docs/protocol.md §4, §5):
// short polling and long polling with fetch, Server-Sent Events with
// EventSource, WebSocket. Raw TCP is not among them: a page cannot open
// a TCP socket. Each transport resumes from sink.lastId() whenever it
// (re)connects, so a switch or a reconnect loses nothing, and the sink
// drops any id it has already shown, so nothing appears twice.
//
// sink: lastId(), epoch, deliver(msg) -> bool (new?), presence(obj),
// state(name, detail), epochChanged(epoch), acked(cid, id, ts),
// connected() (the outbox may be sent), interval() ms, wait() s,
// rateLimited(ms, cid or null) (a send or a hello refused over a limit:
// wait ms), passwordRefused(message) (the server's password is missing
// or wrong).

import { roomPath } from "./api.js";
import { utf8Length, wsFrameBytes } from "./stats.js";

export const MODES = ["poll", "longpoll", "sse", "websocket"];

// Reconnect delays: quick first, never more than 5 s, so a restarted
// server is found again within seconds.
const BACKOFF_MS = [500, 1000, 2000, 4000, 5000];

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (signal)
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
  });
}

class Transport {
  constructor(mode, room, api, stats, sink) {
    this.mode = mode;
    this.room = room;
    this.api = api;
    this.stats = stats;
    this.sink = sink;
    this.stopped = false;
    this.failures = 0;
    this.abort = new AbortController();
    this.startedServerMs = 0;
  }

  start(clock) {
    this.clock = clock;
    this.startedServerMs = clock.now();
    this.sink.state("connecting");
    this.run();
  }

  stop() {
    this.stopped = true;
    this.abort.abort();
  }

  // A message from the wire: shown if new; a latency sample if it was
  // sent while this transport was up (a replay of older history says
  // nothing about the transport, as in dx-base-transport.c).
  message(m) {
    if (this.stopped || !m || m.type !== "message" || m.room !== this.room) return;
    if (!this.sink.deliver(m)) return;
    this.stats.messages++;
    if (this.clock.known && m.ts >= this.startedServerMs)
      this.sink.latency(Math.max(this.clock.now() - m.ts, 0), this.stats);
  }

  up() {
    this.isUp = true;
    this.failures = 0;
    this.sink.state("up");
    this.sink.connected(this);
  }

  // Waits before the next attempt, saying so.
  async backoff() {
    const ms = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.isUp = false;
    this.failures++;
    this.sink.state("retry", Math.ceil(ms / 1000));
    await sleep(ms, this.abort.signal);
  }

  // Sends over this transport itself (WebSocket); false: POST it.
  sendDirect() {
    return false;
  }
}

// GET …/messages?since=N (short) or &wait=S (long), in a loop.
class PollTransport extends Transport {
  async run() {
    const long = this.mode === "longpoll";
    while (!this.stopped) {
      let ans;
      // After a start or a reconnect the first long poll does not wait:
      // a restarted server with a new epoch would otherwise hold it (its
      // ids are below since) until the wait ends, before the page learns
      // the epoch.
      const wait = long && this.isUp ? this.sink.wait() : 0;
      try {
        ans = await this.api.poll(this.room, this.sink.lastId(), wait, this.stats, this.abort.signal);
      } catch (e) {
        if (this.stopped) return;
        await this.backoff();
        continue;
      }
      if (this.stopped) return;
      if (this.sink.epoch !== null && ans.epoch !== this.sink.epoch) {
        this.sink.epochChanged(ans.epoch);
        return;
      }
      if (!this.isUp) this.up();
      const msgs = Array.isArray(ans.messages) ? ans.messages : [];
      if (msgs.length === 0) this.stats.emptyPolls++;
      for (const m of msgs) this.message(Object.assign({ type: "message" }, m));
      if (!long) await this.pause();
    }
  }

  // The poll interval, read live: a change applies to the wait under way.
  async pause() {
    const begun = performance.now();
    while (!this.stopped && performance.now() - begun < this.sink.interval())
      await sleep(Math.min(100, this.sink.interval()), this.abort.signal);
  }
}

// EventSource on …/events?since=N. The browser reconnects by itself and
// resumes with Last-Event-ID; after each (re)open the page checks the
// store's epoch (GET /api/v1/info) and holds the events until it knows.
// A stream the browser gives up on (an error status) is reopened by the
// page, with backoff, from the last id.
class SseTransport extends Transport {
  run() {
    if (this.stopped) return;
    const url = roomPath(this.room) + "/events?since=" + this.sink.lastId();
    const es = new EventSource(url);
    this.es = es;
    this.stats.requests++;
    this.stats.connections++;
    let held = null; // events waiting for the epoch check
    let streamBytes = 0;
    const count = (n) => {
      streamBytes += n;
      this.stats.pendingDown += n;
    };
    const take = (fn) => (ev) => {
      if (held) held.push(() => fn(ev));
      else fn(ev);
    };
    let opens = 0;
    es.onopen = async () => {
      if (opens++ > 0) {
        // The browser's own reconnect (with Last-Event-ID).
        this.stats.requests++;
        this.stats.connections++;
      }
      held = [];
      let info = null;
      try {
        info = await this.api.info(this.stats);
      } catch (e) {
        info = null;
      }
      if (this.stopped || this.es !== es) return;
      if (info && this.sink.epoch !== null && info.epoch !== this.sink.epoch) {
        es.close();
        this.sink.epochChanged(info.epoch);
        return;
      }
      const q = held;
      held = null;
      this.up();
      for (const f of q) f();
    };
    es.addEventListener("message", take((ev) => {
      count(utf8Length("id: " + ev.lastEventId + "\nevent: message\ndata: " + ev.data + "\n\n"));
      try {
        this.message(JSON.parse(ev.data));
      } catch (e) {
        // not JSON: ignored, as an unknown event would be
      }
    }));
    es.addEventListener("presence", take((ev) => {
      count(utf8Length("event: presence\ndata: " + ev.data + "\n\n"));
      try {
        this.sink.presence(JSON.parse(ev.data));
      } catch (e) {
        // ignored
      }
    }));
    es.onerror = () => {
      if (this.stopped || this.es !== es) return;
      if (es.readyState === EventSource.CONNECTING) {
        this.sink.state("retry-browser");
        return;
      }
      es.close();
      this.reopen();
    };
    this.closeStream = () => {
      es.close();
      // The stream's exact bytes are in Resource Timing once it ended;
      // until then the events are a lower bound.
      this.stats.pendingDown -= streamBytes;
      this.stats.bytesDown += streamBytes;
    };
  }

  async reopen() {
    if (this.closeStream) this.closeStream();
    this.closeStream = null;
    await this.backoff();
    this.run();
  }

  stop() {
    super.stop();
    if (this.closeStream) this.closeStream();
    this.closeStream = null;
  }
}

// RFC 6455 with the subprotocol duplex.v1 (docs/protocol.md §4): hello,
// join since the last id, sends with their cid; bytes are the frames'.
class WebSocketTransport extends Transport {
  run() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + location.host + "/api/v1/ws", "duplex.v1");
    this.ws = ws;
    this.joined = false;
    this.stats.requests++;
    this.stats.connections++;
    ws.onopen = () => this.hello();
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      this.stats.bytesDown += wsFrameBytes(utf8Length(ev.data), false);
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      this.object(m);
    };
    ws.onclose = () => {
      // A close frame's bytes are not shown to the page.
      if (this.ws !== ws) return;
      this.ws = null;
      this.joined = false;
      // Refused for its password: the page asks, then starts anew.
      if (!this.stopped && !this.passwordRefused) this.reopen();
    };
  }

  // hello with the token held, else the nick; with the password if one
  // was given (docs/protocol.md §5).
  hello() {
    const token = this.api.token;
    const m = token ? { type: "hello", token } : { type: "hello", nick: this.api.nick };
    if (this.api.password !== null) m.password = this.api.password;
    this.frame(m);
  }

  object(m) {
    switch (m.type) {
      case "welcome":
        if (m.token && m.nick === this.api.nick) this.api.token = m.token;
        this.frame({ type: "join", room: this.room, since: this.sink.lastId() });
        break;
      case "joined":
        if (m.room !== this.room) break;
        if (this.sink.epoch !== null && m.epoch !== this.sink.epoch) {
          this.sink.epochChanged(m.epoch);
          return;
        }
        this.joined = true;
        this.up();
        break;
      case "message":
        this.message(m);
        break;
      case "ack":
        this.sink.acked(m.cid, m.id, m.ts);
        break;
      case "presence":
        this.sink.presence(m);
        break;
      case "error":
        // Over a limit (docs/protocol.md §9): a send with its cid waits
        // and is resent; a hello with a nick (no cid) is said again then.
        if (m.code === "rate_limited") {
          const ms = Math.max(Number(m.retry_after) || 1000, 1);
          this.sink.rateLimited(ms, m.cid || null);
          if (!m.cid && !this.joined) {
            const ws = this.ws;
            setTimeout(() => {
              if (this.ws === ws && ws.readyState === WebSocket.OPEN && !this.stopped) this.hello();
            }, ms);
          }
          break;
        }
        // The server's password is missing or wrong ("wrong password",
        // "this server needs a password"); it closes the socket (1008).
        if (m.code === "unauthorized" && /password/.test(m.message || "")) {
          this.passwordRefused = true;
          this.sink.passwordRefused(m.message);
          break;
        }
        // A token the server no longer knows (it restarted): the next
        // hello says the nick and gets a new one.
        if (m.code === "unauthorized" && this.api.token) {
          this.api.dropToken(this.api.token);
          if (this.ws) this.ws.close(1000);
        }
        break;
      default:
        break;
    }
  }

  frame(obj) {
    const text = JSON.stringify(obj);
    this.stats.bytesUp += wsFrameBytes(utf8Length(text), true);
    this.ws.send(text);
  }

  async reopen() {
    await this.backoff();
    this.run();
  }

  sendDirect(item) {
    if (!this.ws || !this.joined || this.ws.readyState !== WebSocket.OPEN) return false;
    this.frame({ type: "send", room: item.room, text: item.text, cid: item.cid });
    return true;
  }

  stop() {
    super.stop();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
  }
}

export function createTransport(mode, room, api, stats, sink) {
  switch (mode) {
    case "poll":
    case "longpoll":
      return new PollTransport(mode, room, api, stats, sink);
    case "sse":
      return new SseTransport(mode, room, api, stats, sink);
    case "websocket":
      return new WebSocketTransport(mode, room, api, stats, sink);
    default:
      throw new Error("unknown transport " + mode);
  }
}
