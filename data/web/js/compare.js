// The compare view: several transports side by side on one room, each in
// its own pane with its own connection, statistics and latency chart.
// Panes show figures only, never the messages themselves (the log is the
// page's one copy of each message).

import { _ } from "./i18n.js";
import { Chart } from "./chart.js";
import { Stats } from "./stats.js";
import { MODES, createTransport } from "./transports.js";
import { $, modeLabel, renderCompareStats } from "./view.js";

class Pane {
  constructor(mode, page) {
    this.mode = mode;
    this.page = page;
    this.stats = new Stats(mode);
    this.lastId = page.lastId();
    this.epoch = page.epoch();
    this.node = document.createElement("section");
    this.node.className = "pane";
    this.node.dataset.mode = mode;
    const h = document.createElement("h3");
    h.textContent = modeLabel(mode);
    h.id = "pane-title-" + mode;
    this.node.setAttribute("aria-labelledby", h.id);
    this.stateEl = document.createElement("p");
    this.stateEl.className = "state";
    this.stateEl.setAttribute("role", "status");
    this.dl = document.createElement("dl");
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", _("Latency chart") + " · " + modeLabel(mode));
    this.chart = new Chart(canvas, modeLabel);
    this.node.append(h, this.stateEl, this.dl, canvas);
    this.start();
  }

  start() {
    const pane = this;
    const sink = {
      lastId: () => pane.lastId,
      get epoch() {
        return pane.epoch;
      },
      deliver(m) {
        if (m.id <= pane.lastId) return false;
        pane.lastId = m.id;
        return true;
      },
      latency(ms, stats) {
        stats.addLatency(ms);
        pane.chart.add(ms, pane.mode);
      },
      presence() {},
      state(name, detail) {
        pane.stateEl.textContent = pane.page.stateText(name, detail);
      },
      epochChanged(epoch) {
        pane.epoch = epoch;
        pane.lastId = 0;
        pane.restart();
      },
      acked() {},
      connected() {},
      rateLimited() {}, // a pane sends nothing
      passwordRefused(message) {
        pane.stateEl.textContent = pane.page.stateText("password");
        pane.page.askPassword(message); // given, the panes start again
      },
      interval: () => pane.page.interval(),
      wait: () => pane.page.wait(),
    };
    this.transport = createTransport(this.mode, this.page.room(), this.page.api, this.stats, sink);
    this.transport.start(this.page.clock);
  }

  restart() {
    this.transport.stop();
    this.start();
  }

  render() {
    renderCompareStats(this.dl, this.stats.toJSON());
    this.chart.draw();
  }

  stop() {
    this.transport.stop();
  }
}

export class Compare {
  // page: room(), lastId(), epoch(), interval(), wait(), api, clock,
  // stateText(name, detail), askPassword(message), changed(modes).
  constructor(page) {
    this.page = page;
    this.panes = new Map();
    this.section = $("compare");
    this.boxes = new Map();
    const fs = $("compare-modes");
    for (const m of MODES) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = m;
      box.addEventListener("change", () => this.set(this.checked()));
      label.append(box, " " + modeLabel(m));
      fs.append(label);
      this.boxes.set(m, box);
    }
  }

  checked() {
    return MODES.filter((m) => this.boxes.get(m).checked);
  }

  isOpen() {
    return !this.section.hidden;
  }

  open(modes) {
    this.section.hidden = false;
    $("compare-open").setAttribute("aria-expanded", "true");
    this.set(modes.length ? modes : ["poll", "websocket"]);
  }

  close() {
    this.set([]);
    this.section.hidden = true;
    $("compare-open").setAttribute("aria-expanded", "false");
    this.page.changed([]);
  }

  // Runs exactly the panes of modes (once the room's newest id is known:
  // every pane starts from it).
  set(modes) {
    for (const [m, pane] of this.panes)
      if (!modes.includes(m)) {
        pane.stop();
        pane.node.remove();
        this.panes.delete(m);
      }
    const box = $("compare-panes");
    for (const m of MODES) {
      this.boxes.get(m).checked = modes.includes(m);
      if (modes.includes(m) && !this.panes.has(m) && this.page.epoch() !== null)
        this.panes.set(m, new Pane(m, this.page));
    }
    // Panes in the order of MODES.
    box.replaceChildren(...MODES.filter((m) => this.panes.has(m)).map((m) => this.panes.get(m).node));
    if (this.isOpen()) this.page.changed(modes);
  }

  // The room changed: every pane starts again on the new room.
  restart() {
    const modes = this.checked();
    for (const pane of this.panes.values()) pane.stop();
    this.panes.clear();
    if (this.isOpen()) this.set(modes);
  }

  render() {
    for (const pane of this.panes.values()) pane.render();
  }

  stats() {
    return [...this.panes.values()].map((p) => p.stats.toJSON());
  }
}
