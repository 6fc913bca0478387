// The page's DOM: static labels in the chosen language, the message log
// (one role=log list, oldest first, one element per message id), rooms,
// people, the statistics table and its notes. Text is only ever set with
// textContent; state is shown with classes and attributes.

import { _, N_ } from "./i18n.js";
import { formatMs } from "./chart.js";
import { MODES } from "./transports.js";

export const $ = (id) => document.getElementById(id);

export const MODE_LABELS = {
  poll: N_("Short polling"),
  longpoll: N_("Long polling"),
  sse: N_("Server-Sent Events"),
  websocket: N_("WebSocket"),
  tcp: N_("Raw TCP"),
  udp: N_("UDP datagrams"),
};

export function modeLabel(mode) {
  return _(MODE_LABELS[mode] || mode);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// The static labels of index.html, in the page's language.
export function translateStatic() {
  const set = (id, text) => {
    const e = $(id);
    if (e) e.textContent = text;
  };
  document.title = _("Duplex");
  set("title", _("Duplex"));
  set("skip-link", _("Skip to the message entry"));
  set("nick-label", _("Nickname"));
  set("room-label", _("Room"));
  set("who-apply", _("Join room"));
  set("password-label", _("Password of this server"));
  set("password-apply", _("Use the password"));
  $("password-user").setAttribute("aria-label", _("Nickname"));
  set("transport-legend", _("Transport"));
  for (const m of MODES.concat(["tcp", "udp"])) set("mode-" + m, modeLabel(m));
  set("tcp-why", _("A web page cannot open a raw TCP socket: browsers only speak HTTP and WebSocket."));
  set("udp-why", _("Nor can it send UDP datagrams (duplexd --udp): a page has no datagram socket."));
  set("poll-interval-label", _("Poll interval"));
  set("wait-label", _("Long-poll wait"));
  set("compare-open", _("Compare transports"));
  set("rooms-title", _("Rooms"));
  set("people-title", _("People online"));
  set("messages-title", _("Messages"));
  set("older", _("Load older messages"));
  set("entry-label", _("Message"));
  $("entry-text").placeholder = _("Write a message…");
  set("send", _("Send"));
  set("stats-title", _("Transport statistics"));
  set("stats-mode", _("Transport"));
  set("chart-title", _("Latency"));
  $("chart").setAttribute("aria-label", _("Latency chart"));
  set("compare-title", _("Transport comparison"));
  set("compare-legend", _("Transports to compare"));
  set("compare-close", _("Close the comparison"));
}

// ---- the message log ----

export class MessageLog {
  constructor(list) {
    this.list = list;
    this.byId = new Map();
    this.nick = "";
  }

  clear() {
    this.list.replaceChildren();
    this.byId.clear();
  }

  item(m) {
    const li = el("li", m.from === this.nick ? "mine" : "");
    li.dataset.id = String(m.id);
    const t = el("time", "time", new Date(m.ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }));
    t.dateTime = new Date(m.ts).toISOString();
    li.append(t, el("span", "from", m.from), el("span", "text", m.text));
    return li;
  }

  nearBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 40;
  }

  // Newest messages, at the end; an id already shown is not shown again.
  append(msgs) {
    const stick = this.nearBottom();
    for (const m of msgs) {
      if (this.byId.has(m.id)) continue;
      const li = this.item(m);
      this.byId.set(m.id, li);
      this.list.append(li);
    }
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  // Older messages (scrollback), at the start, keeping the view in place.
  prepend(msgs) {
    const before = this.list.scrollHeight;
    const first = this.list.firstChild;
    for (const m of msgs) {
      if (this.byId.has(m.id)) continue;
      const li = this.item(m);
      this.byId.set(m.id, li);
      this.list.insertBefore(li, first);
    }
    this.list.scrollTop += this.list.scrollHeight - before;
  }

  notice(text) {
    const li = el("li", "notice", text);
    this.list.append(li);
    this.list.scrollTop = this.list.scrollHeight;
  }
}

// ---- rooms and people ----

export function renderRooms(list, rooms, current, onPick) {
  const names = rooms.map((r) => r.name);
  if (!names.includes(current)) rooms = rooms.concat([{ name: current, last_id: 0, online: 0 }]);
  list.replaceChildren(
    ...rooms.map((r) => {
      const li = el("li");
      const b = el("button", "", "#" + r.name);
      b.type = "button";
      if (r.name === current) b.setAttribute("aria-current", "true");
      b.addEventListener("click", () => onPick(r.name));
      li.append(b);
      return li;
    }),
  );
}

export function renderPeople(list, countEl, nicks, online) {
  list.replaceChildren(...[...nicks].sort().map((n) => el("li", "", n)));
  countEl.textContent = online === null ? "" : _("%s online", online);
}

// ---- statistics ----

const COLUMNS = [
  ["requests", N_("Requests")],
  ["bytes_up", N_("Bytes sent")],
  ["bytes_down", N_("Bytes received")],
  ["connections", N_("Connections opened")],
  ["empty_polls", N_("Empty polls")],
  ["messages", N_("Messages received")],
  ["latency_p50_ms", N_("Latency (median)")],
  ["latency_p95_ms", N_("Latency (95th percentile)")],
];

export function formatBytes(n) {
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " MB";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " kB";
  return String(n) + " B";
}

export function formatCell(key, v) {
  if (v === null && key === "connections") return _("hidden");
  if (key.startsWith("latency")) return formatMs(v);
  if (key.startsWith("bytes")) return formatBytes(v);
  return String(v);
}

export function setupStatsTable(table) {
  const head = table.tHead.rows[0];
  for (const [key, label] of COLUMNS) {
    const th = el("th", "", _(label));
    th.scope = "col";
    th.dataset.key = key;
    head.append(th);
  }
  const body = table.tBodies[0];
  for (const m of MODES) {
    const tr = el("tr");
    tr.dataset.mode = m;
    const th = el("th", "", modeLabel(m));
    th.scope = "row";
    tr.append(th);
    for (const [key] of COLUMNS) {
      const td = el("td", "", "0");
      td.dataset.key = key;
      tr.append(td);
    }
    body.append(tr);
  }
}

export function renderStats(table, statsByMode, current) {
  for (const tr of table.tBodies[0].rows) {
    const s = statsByMode[tr.dataset.mode].toJSON();
    tr.classList.toggle("current", tr.dataset.mode === current);
    for (const td of tr.cells) if (td.dataset.key) td.textContent = formatCell(td.dataset.key, s[td.dataset.key]);
  }
}

// Where the browser hides a number, the page says so.
export function renderNotes(list) {
  const notes = [
    _("HTTP bytes received are Resource Timing transfer sizes: the body as received plus a fixed 300 bytes the browser reports for the response headers, whose real size it hides."),
    _("HTTP bytes sent count request bodies only: the browser does not reveal the request headers it sends."),
    _("Polling connections are hidden: the browser pools keep-alive connections and does not say when it opens one."),
    _("Server-Sent Events: while a stream is open only its events are counted; its headers and chunk framing stay hidden."),
    _("WebSocket bytes are the frames (header, mask, payload); the browser hides the upgrade handshake."),
    _("Raw TCP cannot be measured here: a web page cannot open a TCP socket."),
  ];
  list.replaceChildren(...notes.map((n) => el("li", "", n)));
}

export function renderCompareStats(dl, s) {
  dl.replaceChildren();
  for (const [key, label] of COLUMNS) {
    const dt = el("dt", "", _(label));
    const dd = el("dd", "", formatCell(key, s[key]));
    dd.dataset.key = key;
    dl.append(dt, dd);
  }
}
