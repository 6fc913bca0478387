// The Duplex web client: the page's state and its wiring. Deep links:
// /?room=lobby&nick=alice&transport=sse&compare=poll,websocket (and
// interval=MS, wait=S for the poll interval and the long-poll wait).

import { Api, HttpError } from "./api.js";
import { Chart } from "./chart.js";
import { Compare } from "./compare.js";
import { _, loadCatalog } from "./i18n.js";
import { ResourceTracker, ServerClock, Stats } from "./stats.js";
import { MODES, createTransport } from "./transports.js";
import {
  $,
  MessageLog,
  modeLabel,
  renderNotes,
  renderPeople,
  renderRooms,
  renderStats,
  setupStatsTable,
  translateStatic,
} from "./view.js";

const NICK_RE = /^[A-Za-z0-9_.-]{1,32}$/;
const ROOM_RE = /^[a-z0-9_-]{1,32}$/;
const HISTORY_PAGE = 50;
const NEWEST = Number.MAX_SAFE_INTEGER; // before= this: the newest messages

function validNick(n) {
  return NICK_RE.test(n) && n !== "ticker" && n !== "server";
}

const state = {
  nick: "",
  room: "lobby",
  mode: "poll",
  epoch: null,
  lastId: 0,
  firstId: 0, // oldest id shown (0: none)
  noOlder: false,
  loadingOlder: false,
  joinSeq: 0,
  transport: null,
  people: new Set(),
  online: null,
  outbox: [],
  outboxTimer: 0,
  holdUntil: 0, // performance.now() before which nothing is sent (over a limit)
  holdTimer: 0,
  passwordWanted: false,
  cidSeq: 0,
  cidBase: Math.random().toString(36).slice(2, 8),
};

const tracker = new ResourceTracker();
const api = new Api(tracker);
const stats = Object.fromEntries(MODES.map((m) => [m, new Stats(m)]));
const clock = new ServerClock(() => renderClock());
let log;
let chart;
let compare;

// ---- status ----

function stateText(name, detail) {
  switch (name) {
    case "connecting":
      return _("Connecting…");
    case "up":
      return _("Connected");
    case "retry":
      return _("The server is not answering; reconnecting in %s s…", detail);
    case "retry-browser":
      return _("The event stream broke; the browser is reconnecting…");
    case "password":
      return _("Waiting for the password of this server");
    default:
      return _("Disconnected");
  }
}

function showState(name, detail) {
  const e = $("conn-state");
  if (name === "up" && e.dataset.state !== "up") refreshRooms(); // the online count now
  e.textContent = stateText(name, detail) + (name === "up" ? " · " + modeLabel(state.mode) : "");
  e.classList.toggle("up", name === "up");
  e.classList.toggle("down", name === "retry" || name === "retry-browser");
  e.dataset.state = name;
}

function renderClock() {
  $("clock").textContent = clock.known
    ? _("Server clock offset: %s ms (round trip %s ms)", clock.offset.toFixed(1), clock.bestRtt.toFixed(1))
    : "";
}

// ---- the URL is the page's state (deep links) ----

function updateUrl() {
  const p = new URLSearchParams();
  p.set("room", state.room);
  p.set("nick", state.nick);
  p.set("transport", state.mode);
  if ($("poll-interval").value !== "2000") p.set("interval", $("poll-interval").value);
  if ($("wait").value !== "30") p.set("wait", $("wait").value);
  if (compare && compare.isOpen() && compare.checked().length) p.set("compare", compare.checked().join(","));
  history.replaceState(null, "", "/?" + p.toString().replace(/%2C/g, ","));
}

// ---- messages ----

const sink = {
  lastId: () => state.lastId,
  get epoch() {
    return state.epoch;
  },
  deliver(m) {
    if (m.id <= state.lastId) return false;
    state.lastId = m.id;
    if (!state.firstId) state.firstId = m.id;
    log.append([m]);
    return true;
  },
  latency(ms, s) {
    s.addLatency(ms);
    chart.add(ms, s.mode);
  },
  presence(p) {
    if (p.room !== state.room) return;
    if (p.state === "join") state.people.add(p.nick);
    else state.people.delete(p.nick);
    renderPeople($("people"), $("online-count"), state.people, state.online);
  },
  state: showState,
  epochChanged(epoch) {
    log.notice(_("The server's history was reset; showing it anew."));
    join(state.room, epoch);
  },
  acked(cid) {
    removeOutbox(cid);
  },
  connected() {
    for (const item of state.outbox) item.inflight = false;
    flushOutbox();
  },
  rateLimited(ms, cid) {
    const item = cid === null ? null : state.outbox.find((x) => x.cid === cid);
    if (item) item.inflight = false;
    slowDown(ms);
  },
  passwordRefused(message) {
    showState("password");
    askPassword(message);
  },
  interval: () => Number($("poll-interval").value),
  wait: () => Number($("wait").value),
};

// Opens room: its newest messages (scrollback), then the live transport
// from the newest id. newEpoch: the store was reset (resume from 0).
async function join(room, newEpoch) {
  const seq = ++state.joinSeq;
  if (state.transport) state.transport.stop();
  state.transport = null;
  state.room = room;
  state.lastId = 0;
  state.firstId = 0;
  state.noOlder = false;
  state.people = new Set([state.nick]);
  state.epoch = newEpoch === undefined ? null : newEpoch;
  if (newEpoch === undefined) log.clear();
  $("room").value = room;
  updateUrl();
  refreshRooms();
  showState("connecting");
  for (let attempt = 0; ; attempt++) {
    try {
      const ans = await api.history(room, NEWEST, HISTORY_PAGE);
      if (seq !== state.joinSeq) return;
      if (newEpoch !== undefined) log.clear();
      const msgs = ans.messages || [];
      log.append(msgs);
      state.firstId = msgs.length ? msgs[0].id : 0;
      state.noOlder = msgs.length < HISTORY_PAGE;
      state.lastId = ans.last_id;
      state.epoch = ans.epoch;
      break;
    } catch (e) {
      if (seq !== state.joinSeq) return;
      const s = Math.min(1 + attempt, 5);
      showState("retry", s);
      await new Promise((r) => setTimeout(r, s * 1000));
      if (seq !== state.joinSeq) return;
    }
  }
  $("older").hidden = state.noOlder;
  startTransport();
  if (compare.isOpen()) compare.restart();
}

function startTransport() {
  state.transport = createTransport(state.mode, state.room, api, stats[state.mode], sink);
  state.transport.start(clock);
}

// Switch live: the next transport starts from the last id shown.
function switchMode(mode) {
  if (mode === state.mode || !MODES.includes(mode)) return;
  state.mode = mode;
  for (const r of document.querySelectorAll('input[name="transport"]')) r.checked = r.value === mode;
  chart.mark(mode);
  updateUrl();
  if (state.epoch === null) return; // still joining: join() starts it
  if (state.transport) state.transport.stop();
  startTransport();
}

async function loadOlder() {
  if (state.noOlder || state.loadingOlder || !state.firstId) return;
  state.loadingOlder = true;
  try {
    const ans = await api.history(state.room, state.firstId, HISTORY_PAGE);
    const msgs = (ans.messages || []).filter((m) => m.id < state.firstId);
    if (ans.epoch === state.epoch) {
      log.prepend(msgs);
      if (msgs.length) state.firstId = msgs[0].id;
      state.noOlder = msgs.length === 0 || msgs[0].id <= 1;
    }
  } catch (e) {
    // the server is away: the next scroll tries again
  } finally {
    state.loadingOlder = false;
    $("older").hidden = state.noOlder;
  }
}

// ---- sending: kept until the server has it, retried with the same cid ----

function renderOutbox() {
  const n = state.outbox.length;
  const left = state.holdUntil - performance.now();
  const parts = [];
  if (left > 0) parts.push(_("Slowed down by the server: resending in %s s…", Math.ceil(left / 1000)));
  if (n > 0) parts.push(_("Messages waiting for the server: %s", n));
  $("outbox").textContent = parts.join(" · ");
}

// Over a limit (docs/protocol.md §9: rate_limited's retry_after, a 429's
// Retry-After): nothing is sent for ms, the countdown shows, then the
// outbox is sent again, each message with its own cid (so a resend that
// crossed an ack is stored once).
function slowDown(ms) {
  state.holdUntil = Math.max(state.holdUntil, performance.now() + ms);
  holdTick();
}

function holdTick() {
  clearTimeout(state.holdTimer);
  state.holdTimer = 0;
  const left = state.holdUntil - performance.now();
  if (left <= 0) {
    state.holdUntil = 0;
    renderOutbox();
    flushOutbox();
    return;
  }
  renderOutbox();
  state.holdTimer = setTimeout(holdTick, Math.min(left, 250));
}

// ---- the server's password (--password: docs/protocol.md §4.4, §5) ----

// message: the server's ("wrong password" or "this server needs a
// password"); a password already given was wrong.
function askPassword(message) {
  state.passwordWanted = true;
  const wrong = api.password !== null || /wrong/.test(message || "");
  $("password-why").textContent = wrong
    ? _("Wrong password: try again.")
    : _("This server needs a password: enter it to send messages.");
  $("password-user").value = state.nick; // for the browser's password manager
  $("password-form").hidden = false;
  $("password").focus();
}

function usePassword(password) {
  state.passwordWanted = false;
  api.setPassword(password);
  $("password-form").hidden = true;
  $("password").value = "";
  // A WebSocket refused for its password stopped: start it anew.
  if (state.transport && state.transport.passwordRefused) {
    state.transport.stop();
    startTransport();
  }
  if (compare.isOpen()) compare.restart();
  for (const item of state.outbox) item.inflight = false;
  flushOutbox();
}

function removeOutbox(cid) {
  const i = state.outbox.findIndex((x) => x.cid === cid);
  if (i >= 0) state.outbox.splice(i, 1);
  renderOutbox();
}

function send(text) {
  state.outbox.push({ cid: "w" + state.cidBase + "-" + ++state.cidSeq, text, room: state.room, inflight: false });
  renderOutbox();
  flushOutbox();
}

function retryOutboxLater() {
  if (state.outboxTimer) return;
  state.outboxTimer = setTimeout(() => {
    state.outboxTimer = 0;
    flushOutbox();
  }, 1500);
}

function flushOutbox() {
  if (state.passwordWanted) return; // sent once the password is given
  if (state.holdUntil) return; // holdTick sends when the wait is over
  for (const item of state.outbox) {
    if (item.inflight) continue;
    const t = state.transport;
    if (t && item.room === t.room && t.sendDirect(item)) {
      item.inflight = true;
      continue;
    }
    if (t && t.mode === "websocket") {
      retryOutboxLater(); // the socket is reconnecting: it flushes when up
      continue;
    }
    item.inflight = true;
    api
      .post(item.room, item.text, item.cid, stats[state.mode])
      .then(() => removeOutbox(item.cid))
      .catch((e) => {
        item.inflight = false;
        if (e instanceof HttpError && e.status === 429) {
          slowDown(Math.max(e.retryAfter, 1) * 1000);
          return;
        }
        if (e instanceof HttpError && e.password) {
          askPassword(e.message);
          return;
        }
        if (e instanceof HttpError && e.status === 400) {
          removeOutbox(item.cid);
          log.notice(_("The server refused the message: %s", e.message));
          return;
        }
        retryOutboxLater();
      });
  }
}

// ---- rooms ----

async function refreshRooms() {
  try {
    const ans = await api.rooms();
    const rooms = ans.rooms || [];
    const mine = rooms.find((r) => r.name === state.room);
    state.online = mine ? mine.online : 0;
    renderRooms($("rooms"), rooms, state.room, (name) => join(name));
    renderPeople($("people"), $("online-count"), state.people, state.online);
  } catch (e) {
    // the server is away
  }
}

// ---- start ----

function readLink() {
  const p = new URLSearchParams(location.search);
  const nick = p.get("nick") || localStorage.getItem("duplex.nick") || "";
  state.nick = validNick(nick) ? nick : "guest" + Math.floor(1000 + Math.random() * 9000);
  const room = p.get("room") || "lobby";
  state.room = ROOM_RE.test(room) ? room : "lobby";
  const mode = p.get("transport");
  state.mode = MODES.includes(mode) ? mode : "poll";
  // interval (ms) and wait (s): one of the choices offered.
  for (const [key, id] of [["interval", "poll-interval"], ["wait", "wait"]]) {
    const v = p.get(key);
    if (v !== null && [...$(id).options].some((o) => o.value === v)) $(id).value = v;
  }
  const cmp = p.get("compare");
  return cmp === null ? null : cmp.split(",").filter((m) => MODES.includes(m));
}

function wire() {
  $("nick").value = state.nick;
  $("room").value = state.room;
  for (const r of document.querySelectorAll('input[name="transport"]')) {
    r.checked = r.value === state.mode;
    r.addEventListener("change", () => {
      if (r.checked) switchMode(r.value);
    });
  }
  $("who").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const nick = $("nick").value.trim();
    const room = $("room").value.trim();
    if (!validNick(nick)) {
      $("nick").setCustomValidity(_("A nick is 1 to 32 characters of A–Z, a–z, 0–9, _, . and -."));
      $("nick").reportValidity();
      return;
    }
    $("nick").setCustomValidity("");
    if (!ROOM_RE.test(room)) {
      $("room").setCustomValidity(_("A room name is 1 to 32 characters of a–z, 0–9, _ and -."));
      $("room").reportValidity();
      return;
    }
    $("room").setCustomValidity("");
    if (nick !== state.nick) {
      state.nick = nick;
      log.nick = nick;
      api.setNick(nick);
      localStorage.setItem("duplex.nick", nick);
      join(room);
    } else if (room !== state.room) join(room);
  });
  $("nick").addEventListener("input", () => $("nick").setCustomValidity(""));
  $("room").addEventListener("input", () => $("room").setCustomValidity(""));
  $("entry").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("entry-text").value;
    if (!text.trim()) return;
    send(text);
    $("entry-text").value = "";
  });
  $("password-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    usePassword($("password").value);
  });
  $("older").addEventListener("click", loadOlder);
  $("log").addEventListener("scroll", () => {
    if ($("log").scrollTop < 30) loadOlder();
  });
  $("compare-open").addEventListener("click", () => {
    if (compare.isOpen()) compare.close();
    else {
      compare.open([]);
      $("compare-panes").scrollIntoView({ block: "nearest" });
    }
  });
  $("compare-close").addEventListener("click", () => {
    compare.close();
    $("compare-open").focus();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && compare.isOpen()) {
      compare.close();
      $("compare-open").focus();
    }
  });
  for (const id of ["poll-interval", "wait"]) $(id).addEventListener("change", updateUrl);
}

async function main() {
  await loadCatalog();
  translateStatic();
  const cmp = readLink();
  log = new MessageLog($("log"));
  log.nick = state.nick;
  api.setNick(state.nick);
  chart = new Chart($("chart"), modeLabel);
  compare = new Compare({
    room: () => state.room,
    lastId: () => state.lastId,
    epoch: () => state.epoch,
    interval: sink.interval,
    wait: sink.wait,
    api,
    clock,
    stateText,
    askPassword,
    changed: updateUrl,
  });
  setupStatsTable($("stats-table"));
  renderNotes($("stats-notes"));
  wire();
  clock.start();
  chart.mark(state.mode);
  if (cmp !== null) compare.open(cmp);
  setInterval(() => {
    renderStats($("stats-table"), stats, state.mode);
    compare.render();
    chart.draw();
  }, 1000);
  setInterval(refreshRooms, 10000);
  await join(state.room);
}

// For tests and the curious (the browser console): what the page measured.
window.duplex = {
  stats: () => MODES.map((m) => stats[m].toJSON()),
  compareStats: () => (compare ? compare.stats() : []),
  state: () => ({ room: state.room, nick: state.nick, mode: state.mode, lastId: state.lastId, epoch: state.epoch, outbox: state.outbox.length }),
  clock: () => ({ offset: clock.offset, rtt: clock.bestRtt, known: clock.known }),
};

main();
