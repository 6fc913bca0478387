// The HTTP API of docs/protocol.md §4, used as any third-party client uses
// it: a token per nick (renewed when the server no longer knows it),
// polls, long polls, scrollback and posts. Requests made for a transport
// are counted in its Stats, with Resource Timing's byte counts.

import { entryBytes, utf8Length } from "./stats.js";

export class HttpError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || "HTTP " + status);
    this.status = status;
    this.code = body && body.error ? body.error.code : "";
    this.retryAfter = 0; // seconds (Retry-After of a 429)
    this.password = false; // a 401 of POST /api/v1/session: the password
  }
}

export function roomPath(room) {
  return "/api/v1/rooms/" + encodeURIComponent(room);
}

export class Api {
  constructor(tracker) {
    this.tracker = tracker;
    this.nick = "";
    this.token = "";
    this.tokenPromise = null;
    // The server's --password as the person typed it; null: none given
    // (docs/protocol.md §4.4: sent only to a server that has one).
    this.password = null;
  }

  setPassword(password) {
    this.password = password;
    this.token = "";
    this.tokenPromise = null;
  }

  setNick(nick) {
    if (nick !== this.nick) {
      this.nick = nick;
      this.token = "";
      this.tokenPromise = null;
    }
  }

  // A token for the nick: the one held, or a new one (POST /api/v1/session).
  async ensureToken() {
    if (this.token) return this.token;
    if (!this.tokenPromise) {
      const nick = this.nick;
      const body = { nick };
      if (this.password !== null) body.password = this.password;
      this.tokenPromise = this.json("POST", "/api/v1/session", body, null)
        .then((j) => {
          if (nick === this.nick) this.token = j.token;
          return j.token;
        })
        .catch((e) => {
          // 401 here is never the token (none was sent): the password.
          if (e instanceof HttpError && e.status === 401) e.password = true;
          throw e;
        })
        .finally(() => {
          this.tokenPromise = null;
        });
    }
    return this.tokenPromise;
  }

  // The server answered 401 for token: forget it so the next call renews.
  dropToken(token) {
    if (this.token === token) this.token = "";
  }

  // fetch + JSON. stats (may be null): the request is counted there, its
  // body as bytes up (request headers are hidden by the browser), and the
  // response's bytes from its Resource Timing entry.
  async json(method, url, body, stats, opts = {}) {
    const init = { method, cache: "no-store", headers: {}, signal: opts.signal };
    let text = null;
    if (body !== undefined && body !== null) {
      text = JSON.stringify(body);
      init.body = text;
      init.headers["Content-Type"] = "application/json";
    }
    if (opts.token) init.headers.Authorization = "Bearer " + opts.token;
    let target = url;
    if (stats) {
      stats.requests++;
      if (text) stats.bytesUp += utf8Length(text);
      target = this.tracker.mark(url, (e) => {
        stats.bytesDown += entryBytes(e);
      });
    }
    let r;
    try {
      r = await fetch(target, init);
    } catch (e) {
      if (stats) this.tracker.forget(target);
      throw e;
    }
    let j = null;
    try {
      j = await r.json();
    } catch (e) {
      j = null;
    }
    if (!r.ok) {
      const err = new HttpError(r.status, j);
      err.retryAfter = Number(r.headers.get("Retry-After")) || 0;
      throw err;
    }
    return j;
  }

  // Short poll (wait 0) or long poll: {messages, last_id, epoch}.
  poll(room, since, wait, stats, signal) {
    let url = roomPath(room) + "/messages?since=" + since;
    if (wait > 0) url += "&wait=" + wait;
    return this.json("GET", url, null, stats, { signal });
  }

  // Scrollback: the limit messages just before id before.
  history(room, before, limit) {
    return this.json("GET", roomPath(room) + "/messages?before=" + before + "&limit=" + limit, null, null);
  }

  rooms() {
    return this.json("GET", "/api/v1/rooms", null, null);
  }

  info(stats) {
    return this.json("GET", "/api/v1/info", null, stats);
  }

  // POST a message; a token the server no longer knows is renewed once.
  async post(room, text, cid, stats) {
    for (let attempt = 0; ; attempt++) {
      const token = await this.ensureToken();
      try {
        return await this.json("POST", roomPath(room) + "/messages", { text, cid }, stats, { token });
      } catch (e) {
        if (e instanceof HttpError && e.status === 401 && !e.password && attempt === 0) {
          this.dropToken(token);
          continue;
        }
        throw e;
      }
    }
  }
}
