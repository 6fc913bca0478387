// English and Korean. The Korean strings come from po/ko.po, the desktop
// client's translation, turned into /web/i18n/ko.json at build time
// (scripts/gen-web-assets.py): one translation source. Every string is
// written as a call of _ or N_ on a string literal, so xgettext finds it
// (po/POTFILES.in lists these files).

let catalog = {};
let lang = "en";

// The first of navigator.languages that is English or Korean; else English.
export function pickLanguage(languages) {
  for (const l of languages || []) {
    const base = String(l).toLowerCase().split("-")[0];
    if (base === "en" || base === "ko") return base;
  }
  return "en";
}

export async function loadCatalog() {
  lang = pickLanguage(navigator.languages);
  document.documentElement.lang = lang;
  if (lang === "en") return;
  try {
    const r = await fetch("/web/i18n/" + lang + ".json");
    if (r.ok) catalog = await r.json();
  } catch (e) {
    catalog = {};
  }
}

export function language() {
  return lang;
}

// The translation of msgid, with %s replaced by the arguments in order.
export function _(msgid, ...args) {
  let s = catalog[msgid] || msgid;
  for (const a of args) s = s.replace("%s", String(a));
  return s;
}

// Marks a string for xgettext without translating it yet.
export function N_(msgid) {
  return msgid;
}
