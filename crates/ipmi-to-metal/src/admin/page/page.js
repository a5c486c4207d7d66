// The status page of ipmi-to-metal: one table of every BMC, refreshed from GET /bmcs every few
// seconds, with a filter and sortable columns, and the console tail of one BMC on demand.
// The admin token is asked for once per tab (or taken from "#token=..." in the address, which
// is then removed from it; "#filter=...&sort=-power" set the filter and the order), kept in sessionStorage and sent as a bearer token; data is written
// into the page as text only.
"use strict";

const REFRESH_MS = 3000;
const KEY = "ipmi-to-metal-token";
const $ = (id) => document.getElementById(id);

let rows = new Map(); // name -> { tr, cells, values }
let sort = { key: "name", dir: 1 };
let consoleOf = null;
let timer = null;

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

async function api(path) {
  const r = await fetch(path, {
    headers: { Authorization: "Bearer " + token() },
    cache: "no-store",
  });
  if (r.status === 401) {
    throw Object.assign(new Error("the token was refused"), { unauthorized: true });
  }
  if (!r.ok) {
    throw new Error(path + ": HTTP " + r.status);
  }
  return r;
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
    action: a ? a.call + (a.outcome === "done" ? "" : " (failed: " + (a.error || a.ccode) + ")") : "",
    user: a ? a.user + " from " + a.client : "",
    when: a ? a.time : "",
    error: e ? e.time + " " + e.error : "",
    sessions: String(b.sessions),
    failed: a && a.outcome !== "done",
    console: b.console_log,
  };
}

const COLUMNS = ["name", "address", "backend", "power", "action", "user", "when", "error", "sessions"];

function newRow(name) {
  const tr = document.createElement("tr");
  tr.dataset.bmc = name;
  const cells = {};
  for (const c of COLUMNS) {
    const td = document.createElement("td");
    td.className = c;
    tr.appendChild(td);
    cells[c] = td;
  }
  const button = document.createElement("button");
  button.type = "button";
  button.addEventListener("click", () => openConsole(name));
  cells.name.appendChild(button);
  return { tr, cells, values: {} };
}

function update(row, v) {
  for (const c of COLUMNS) {
    if (row.values[c] === v[c]) continue;
    if (c === "name") {
      row.cells.name.firstChild.textContent = v.name;
    } else {
      row.cells[c].textContent = v[c];
    }
  }
  row.cells.name.firstChild.disabled = !v.console;
  row.cells.name.firstChild.title = v.console ? "show the console log" : "no console log";
  row.cells.power.className = "power power-" + v.power;
  row.tr.classList.toggle("failed", !!v.failed);
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
    const r = await api("/bmcs");
    const data = await r.json();
    showMain();
    render(data.bmcs);
    $("error").textContent = "";
    if (consoleOf) await loadConsole();
  } catch (e) {
    if (e.unauthorized) {
      sessionStorage.removeItem(KEY);
      showLogin(e.message);
      return;
    }
    $("error").textContent = "not updated: " + e.message;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

async function loadConsole() {
  const name = consoleOf;
  const r = await api("/bmcs/" + encodeURIComponent(name) + "/console?kib=64");
  const text = await r.text();
  if (consoleOf !== name) return;
  const pre = $("console-text");
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = text || "(empty)";
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}

function openConsole(name) {
  consoleOf = name;
  $("console-name").textContent = name;
  $("console-text").textContent = "loading…";
  $("console").hidden = false;
  loadConsole().catch((e) => ($("console-text").textContent = "cannot read: " + e.message));
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
    rows.forEach((r) => r.tr.remove());
    rows = new Map();
    showLogin("");
  });
  $("filter").addEventListener("input", arrange);
  $("console-close").addEventListener("click", () => {
    consoleOf = null;
    $("console").hidden = true;
  });
  for (const th of document.querySelectorAll("#bmcs th")) {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      sort = { key, dir: sort.key === key ? -sort.dir : 1 };
      for (const h of document.querySelectorAll("#bmcs th")) h.className = "";
      th.className = sort.dir > 0 ? "asc" : "desc";
      arrange();
    });
  }
  document.querySelector('#bmcs th[data-key="' + sort.key + '"]').className = sort.dir > 0 ? "asc" : "desc";
  if (token()) {
    refresh();
  } else {
    showLogin("");
  }
}

start();
