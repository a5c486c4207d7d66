// The status page of ipmi-to-metal: one table of every BMC, refreshed from GET /bmcs every few
// seconds, with a filter and sortable columns; power actions (with a confirmation naming the
// machine) where the token allows them; and per machine a details view: the live console
// (live-console.js), sensors, event log, last actions and the console log's end.
// The admin token is asked for once per tab (or taken from "#token=..." in the address, which
// is then removed from it; "#filter=...&sort=-power" set the filter and the order), kept in
// sessionStorage and sent as a bearer token (to the WebSocket in its first message: never in
// an address). Data is written into the page as text only, never as HTML.
"use strict";

const REFRESH_MS = 3000;
const KEY = "ipmi-to-metal-token";
const ACTIONS = ["on", "off", "cycle", "reset", "soft"];
const $ = (id) => document.getElementById(id);

let rows = new Map(); // name -> { tr, cells, values }
let sort = { key: "name", dir: 1 };
let you = { act: false, type: false };
let detailsOf = null;
let timer = null;
let fetchedAt = Date.now();

function token() {
  return sessionStorage.getItem(KEY);
}

// The fragment: "#token=...&filter=...&sort=[-]COLUMN" (each optional). The token is kept for
// this tab and taken out of the address at once; the filter and the order stay (a bookmark).
function fromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const t = params.get("token");
  if (t) {
    sessionStorage.setItem(KEY, t);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
  }
  if (params.get("filter")) {
    $("filter").value = params.get("filter");
  }
  const by = params.get("sort") || "name";
  const key = by.replace(/^-/, "");
  if (COLUMNS.includes(key)) {
    sort = { key, dir: by.startsWith("-") ? -1 : 1 };
  }
}

async function api(path, options) {
  const r = await fetch(path, Object.assign({
    headers: { Authorization: "Bearer " + token() },
    cache: "no-store",
  }, options || {}));
  if (r.status === 401) {
    throw Object.assign(new Error("the token was refused"), { unauthorized: true });
  }
  return r;
}

async function apiJson(path) {
  const r = await api(path);
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function showLogin(message) {
  $("main").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("summary").textContent = "";
  $("token").focus();
}

function showMain() {
  $("login").hidden = true;
  $("main").hidden = false;
  $("logout").hidden = false;
}

// "12 s", "3 min", "2 h", "4 d".
function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return s + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  if (s < 172800) return Math.round(s / 3600) + " h";
  return Math.round(s / 86400) + " d";
}

function sinceIso(iso) {
  return (Date.now() - Date.parse(iso)) / 1000;
}

// What each column shows of a BMC, as text, and what it sorts by.
function values(b) {
  const a = b.last_action;
  const e = b.last_error;
  const power = b.power ? b.power.state : b.backend_down ? "unreachable" : "unknown";
  return {
    name: b.name,
    address: b.address,
    backend: b.backends.map((x) => x.kind).join(", "),
    power: power,
    age: b.power ? b.power.age_s : null,
    checked: b.power ? b.power.checked : "",
    action: a ? a.call + (a.outcome === "done" ? "" : " (failed: " + (a.error || a.ccode) + ")") : "",
    user: a ? a.user + " from " + a.client : "",
    when: a ? a.time : "",
    error: e ? e.time + " " + e.error : "",
    sessions: String(b.sessions),
    failed: a && a.outcome !== "done",
    console: b.console_log,
  };
}

const COLUMNS = ["name", "power", "action", "when", "user", "error", "backend", "address", "sessions"];

function actionSelect(name) {
  const select = document.createElement("select");
  select.setAttribute("aria-label", "power action for " + name);
  const none = document.createElement("option");
  none.value = "";
  none.textContent = "power…";
  select.appendChild(none);
  for (const a of ACTIONS) {
    const o = document.createElement("option");
    o.value = a;
    o.textContent = a;
    select.appendChild(o);
  }
  select.addEventListener("change", () => {
    const a = select.value;
    select.value = "";
    if (a) confirmAction(name, a);
  });
  return select;
}

function newRow(name) {
  const tr = document.createElement("tr");
  tr.dataset.bmc = name;
  const cells = {};
  for (const c of COLUMNS.concat(["act"])) {
    const td = document.createElement("td");
    td.className = c;
    tr.appendChild(td);
    cells[c] = td;
  }
  const button = document.createElement("button");
  button.type = "button";
  button.title = "details, live console";
  button.addEventListener("click", () => openDetails(name));
  cells.name.appendChild(button);
  const state = document.createElement("span");
  const age = document.createElement("span");
  age.className = "age";
  cells.power.append(state, age);
  cells.act.appendChild(actionSelect(name));
  return { tr, cells, values: {} };
}

// The age of a state: as the server said, plus the time since it said it.
function ageText(v) {
  if (v.age === null) return "";
  return " · " + ago(v.age + (Date.now() - fetchedAt) / 1000);
}

function update(row, v) {
  for (const c of COLUMNS) {
    if (row.values[c] === v[c]) continue;
    if (c === "name") {
      row.cells.name.firstChild.textContent = v.name;
    } else if (c === "power") {
      row.cells.power.firstChild.textContent = v.power;
    } else if (c !== "when") {
      row.cells[c].textContent = v[c];
    }
    row.cells[c].title = v[c];
  }
  row.cells.when.textContent = v.when ? ago(sinceIso(v.when)) + " ago" : "";
  row.cells.power.lastChild.textContent = ageText(v);
  row.cells.power.title = v.checked ? v.power + ", confirmed " + v.checked : v.power;
  row.cells.power.className = "power power-" + v.power;
  row.tr.classList.toggle("failed", !!v.failed);
  row.tr.classList.toggle("selected", detailsOf === v.name);
  row.values = v;
}

function render(bmcs) {
  const seen = new Set();
  for (const b of bmcs) {
    seen.add(b.name);
    let row = rows.get(b.name);
    if (!row) {
      row = newRow(b.name);
      rows.set(b.name, row);
    }
    update(row, values(b));
  }
  for (const [name, row] of rows) {
    if (!seen.has(name)) {
      row.tr.remove();
      rows.delete(name);
    }
  }
  arrange();
}

// Filters and sorts the rows into the table, moving only what must move.
function arrange() {
  const words = $("filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  const list = [...rows.values()];
  const num = sort.key === "sessions";
  list.sort((a, b) => {
    const x = a.values[sort.key];
    const y = b.values[sort.key];
    const d = num ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true });
    return sort.dir * (d || a.values.name.localeCompare(b.values.name, undefined, { numeric: true }));
  });
  const tbody = document.querySelector("#bmcs tbody");
  let shown = 0;
  let at = tbody.firstChild;
  for (const row of list) {
    const text = COLUMNS.map((c) => row.values[c]).join(" ").toLowerCase();
    const visible = words.every((w) => text.includes(w));
    row.tr.hidden = !visible;
    if (visible) shown++;
    if (row.tr !== at) {
      tbody.insertBefore(row.tr, at);
    } else {
      at = at.nextSibling;
    }
  }
  $("summary").textContent =
    rows.size + " BMCs" + (shown < rows.size ? ", " + shown + " shown" : "") +
    " · updated " + new Date().toLocaleTimeString();
}

async function refresh() {
  clearTimeout(timer);
  try {
    const data = await apiJson("/bmcs");
    fetchedAt = Date.now();
    you = data.you || you;
    document.body.classList.toggle("can-act", !!you.act);
    showMain();
    render(data.bmcs);
    $("error").textContent = "";
    if (detailsOf) await loadDetails();
  } catch (e) {
    if (e.unauthorized) {
      sessionStorage.removeItem(KEY);
      closeDetails();
      showLogin(e.message);
      return;
    }
    $("error").textContent = "not updated: " + e.message;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

// ---- Power actions ----

let pending = null;

function confirmAction(name, action) {
  pending = { name, action };
  $("confirm-text").textContent = "Power " + action + " " + name + "?";
  $("confirm-ok").textContent = "Power " + action + " " + name;
  $("confirm").showModal();
}

async function doAction() {
  const p = pending;
  pending = null;
  $("confirm").close();
  if (!p) return;
  const where = detailsOf === p.name ? $("details-error") : $("notice");
  where.textContent = "power " + p.action + " " + p.name + "…";
  where.classList.remove("failed-text");
  try {
    const r = await api("/bmcs/" + encodeURIComponent(p.name) + "/power", {
      method: "POST",
      headers: { Authorization: "Bearer " + token(), "Content-Type": "application/json" },
      body: JSON.stringify({ action: p.action }),
    });
    const answer = await r.json().catch(() => ({}));
    where.textContent = r.ok
      ? "power " + p.action + " " + p.name + ": done"
      : "power " + p.action + " " + p.name + " failed: " + (answer.error || "HTTP " + r.status);
    where.classList.toggle("failed-text", !r.ok);
  } catch (e) {
    where.textContent = "power " + p.action + " " + p.name + " failed: " + e.message;
    where.classList.add("failed-text");
  }
  refresh();
}

// ---- Details ----

function cells(tr, texts) {
  for (const t of texts) {
    const td = document.createElement("td");
    td.textContent = t;
    td.title = t;
    tr.appendChild(td);
  }
}

function fill(id, items, texts, empty) {
  const tbody = document.querySelector("#" + id + " tbody");
  const columns = document.querySelectorAll("#" + id + " th").length;
  tbody.replaceChildren();
  for (const item of items) {
    const tr = document.createElement("tr");
    cells(tr, texts(item));
    tbody.appendChild(tr);
  }
  if (!items.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = columns;
    td.className = "muted";
    td.textContent = empty;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
}

function reading(s) {
  if (s.value !== null && s.value !== undefined) return Number(s.value.toFixed(2)) + " " + s.unit;
  if (s.states) return s.kind + ": states " + s.states;
  return "no reading";
}

async function loadDetails() {
  const name = detailsOf;
  const base = "/bmcs/" + encodeURIComponent(name);
  const [sensors, sel, audit] = await Promise.all([
    apiJson(base + "/sensors"),
    apiJson(base + "/sel?n=50"),
    apiJson(base + "/audit?n=20"),
  ]);
  if (detailsOf !== name) return;
  const row = rows.get(name);
  if (row) {
    $("details-power").textContent = row.values.power + ageText(row.values);
    $("details-power").className = "power power-" + row.values.power;
  }
  fill("sensors", sensors.sensors, (s) => [String(s.number), s.name, reading(s)], sensors.error || "no sensors");
  fill("sel", sel.entries, (e) => [String(e.id), e.time.replace("T", " ").replace(/\.\d+Z$/, ""), e.text], "empty");
  fill("audit", audit.records, (r) => [
    r.time.replace("T", " ").replace(/\.\d+Z$/, ""), r.call, r.user + " from " + r.client,
    r.outcome + (r.error ? ": " + r.error : ""),
  ], audit.error || "none");
  if (row && row.values.console && $("log-box").open) {
    const r = await api(base + "/console?kib=64");
    const text = await r.text();
    if (detailsOf !== name) return;
    const pre = $("console-text");
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = text || "(empty)";
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  }
}

function openDetails(name) {
  detailsOf = name;
  $("details-name").textContent = name;
  $("details-error").textContent = "";
  $("console-text").textContent = "";
  const actions = $("details-actions");
  actions.replaceChildren();
  if (you.act) {
    for (const a of ACTIONS) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = a;
      b.dataset.action = a;
      b.addEventListener("click", () => confirmAction(name, a));
      actions.appendChild(b);
    }
  }
  $("details").hidden = false;
  for (const [n, row] of rows) row.tr.classList.toggle("selected", n === name);
  openTerminal(name);
  loadDetails().catch((e) => ($("details-error").textContent = "cannot read: " + e.message));
  $("details").scrollIntoView({ block: "start" });
}

function closeDetails() {
  detailsOf = null;
  closeTerminal();
  $("details").hidden = true;
  for (const row of rows.values()) row.tr.classList.remove("selected");
}

function start() {
  fromFragment();
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    refresh();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    clearTimeout(timer);
    closeDetails();
    rows.forEach((r) => r.tr.remove());
    rows = new Map();
    showLogin("");
  });
  $("filter").addEventListener("input", arrange);
  $("details-close").addEventListener("click", closeDetails);
  $("log-box").addEventListener("toggle", () => detailsOf && loadDetails().catch(() => {}));
  $("confirm-ok").addEventListener("click", doAction);
  $("confirm-cancel").addEventListener("click", () => {
    pending = null;
    $("confirm").close();
  });
  $("term-type").addEventListener("click", () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: typing ? "release" : "take" }));
  });
  for (const th of document.querySelectorAll("#bmcs th[data-key]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      sort = { key, dir: sort.key === key ? -sort.dir : 1 };
      for (const h of document.querySelectorAll("#bmcs th[data-key]")) h.classList.remove("asc", "desc");
      th.classList.add(sort.dir > 0 ? "asc" : "desc");
      arrange();
    });
  }
  document.querySelector('#bmcs th[data-key="' + sort.key + '"]').classList.add(sort.dir > 0 ? "asc" : "desc");
  if (token()) {
    refresh();
  } else {
    showLogin("");
  }
}

start();
