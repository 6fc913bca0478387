// Latency over the last two minutes on a canvas, one colour per transport,
// a labelled vertical mark at every switch. The canvas is sized through
// its width/height attributes (CSS sets the displayed size): no inline
// style is ever set.

import { _ } from "./i18n.js";

export const COLORS = {
  poll: "#e66100",
  longpoll: "#9141ac",
  sse: "#26a269",
  websocket: "#1c71d8",
};

const WINDOW_MS = 120000;

export class Chart {
  constructor(canvas, label) {
    this.canvas = canvas;
    this.label = label || ((m) => m);
    this.points = []; // {t, ms, mode}
    this.marks = []; // {t, mode}
    this.pending = false;
  }

  add(ms, mode) {
    this.points.push({ t: Date.now(), ms, mode });
    this.schedule();
  }

  mark(mode) {
    this.marks.push({ t: Date.now(), mode });
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(c.clientWidth, 100);
    const h = Math.max(c.clientHeight, 60);
    if (c.width !== Math.round(w * ratio) || c.height !== Math.round(h * ratio)) {
      c.width = Math.round(w * ratio);
      c.height = Math.round(h * ratio);
    }
    const g = c.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const now = Date.now();
    const from = now - WINDOW_MS;
    this.points = this.points.filter((p) => p.t >= from);
    this.marks = this.marks.filter((m) => m.t >= from);
    const fg = getComputedStyle(c).color || "#888";
    const left = 44;
    const bottom = h - 16;
    let max = 10;
    for (const p of this.points) max = Math.max(max, p.ms);
    max = niceCeil(max);
    const x = (t) => left + ((t - from) / WINDOW_MS) * (w - left - 4);
    const y = (ms) => bottom - (ms / max) * (bottom - 6);

    g.font = "11px system-ui, sans-serif";
    g.fillStyle = fg;
    g.strokeStyle = fg;
    g.globalAlpha = 0.35;
    g.beginPath();
    g.moveTo(left, 6);
    g.lineTo(left, bottom);
    g.lineTo(w - 4, bottom);
    g.stroke();
    g.globalAlpha = 1;
    g.textAlign = "right";
    g.fillText(formatMs(max), left - 4, 14);
    g.fillText("0", left - 4, bottom);
    g.textAlign = "left";
    g.fillText(_("−2 min"), left, h - 3);
    g.textAlign = "right";
    g.fillText(_("now"), w - 4, h - 3);

    for (const m of this.marks) {
      const mx = x(m.t);
      g.strokeStyle = COLORS[m.mode] || fg;
      g.setLineDash([4, 3]);
      g.beginPath();
      g.moveTo(mx, 6);
      g.lineTo(mx, bottom);
      g.stroke();
      g.setLineDash([]);
      g.fillStyle = COLORS[m.mode] || fg;
      // The label on the side of the mark that has room for it.
      const text = this.label(m.mode);
      const right = mx + 3 + g.measureText(text).width < w - 4;
      g.textAlign = right ? "left" : "right";
      g.fillText(text, right ? mx + 3 : mx - 3, 16);
    }
    for (const p of this.points) {
      g.fillStyle = COLORS[p.mode] || fg;
      g.beginPath();
      g.arc(x(p.t), y(Math.min(p.ms, max)), 2.5, 0, 2 * Math.PI);
      g.fill();
    }
  }
}

function niceCeil(v) {
  const steps = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000];
  for (const s of steps) if (v <= s) return s;
  return Math.ceil(v / 60000) * 60000;
}

export function formatMs(ms) {
  if (!Number.isFinite(ms)) return "–";
  if (ms >= 1000) return (ms / 1000).toFixed(2) + " s";
  if (ms >= 10) return ms.toFixed(0) + " ms";
  return ms.toFixed(1) + " ms";
}
