// The live console of the status page's details view: the BMC's serial console in xterm.js
// (vendored, /xterm.js), over the admin server's WebSocket /console-live. The token goes in the
// socket's first message, never in its address; the console is read-only until "Type" takes
// the keyboard (offered only when the server says this token may type). Uses page.js's $ and
// token(); page.js calls openTerminal and closeTerminal.
"use strict";

let term = null;
let ws = null;
let typing = false;

// xterm.js writes its colours and cell sizes into <style> elements, which the strict CSP of
// this page refuses (no inline style). The elements it makes are inert <xterm-style> ones
// instead (hidden by page.css), whose text is copied into constructed style sheets (which the
// CSP allows) whenever it changes.
const createElement = document.createElement.bind(document);
document.createElement = (tag, options) =>
  createElement(String(tag).toLowerCase() === "style" ? "xterm-style" : tag, options);
const mirrored = new Map(); // <xterm-style> -> CSSStyleSheet
const mirroredText = new WeakMap();
function syncStyles() {
  let changed = false;
  for (const el of document.querySelectorAll("xterm-style")) {
    let sheet = mirrored.get(el);
    if (!sheet) {
      sheet = new CSSStyleSheet();
      mirrored.set(el, sheet);
      changed = true;
    }
    if (mirroredText.get(sheet) !== el.textContent) {
      sheet.replaceSync(el.textContent);
      mirroredText.set(sheet, el.textContent);
    }
  }
  for (const el of [...mirrored.keys()]) {
    if (!el.isConnected) {
      mirrored.delete(el);
      changed = true;
    }
  }
  if (changed) document.adoptedStyleSheets = [...mirrored.values()];
}
const isStyle = (n) => n && (n.nodeName === "XTERM-STYLE" || (n.parentNode && n.parentNode.nodeName === "XTERM-STYLE"));
new MutationObserver((list) => {
  if (list.some((m) => isStyle(m.target) || [...m.addedNodes, ...m.removedNodes].some(isStyle))) {
    syncStyles();
  }
}).observe(document, { subtree: true, childList: true, characterData: true });

function termStatus(text) {
  $("term-status").textContent = text;
}

function setTyping(held) {
  typing = held;
  $("term-type").textContent = held ? "Stop typing" : "Type";
  termStatus(held ? "typing (you hold the keyboard)" : "read-only");
  if (held && term) term.focus();
}

function openTerminal(name) {
  closeTerminal();
  if (!window.Terminal) {
    termStatus("the terminal did not load");
    return;
  }
  const box = $("terminal");
  const fontSize = box.clientWidth < 500 ? 11 : 13;
  const cols = Math.max(40, Math.min(100, Math.floor((box.clientWidth - 8) / (fontSize * 0.6))));
  term = new window.Terminal({ rows: 20, cols, fontSize, scrollback: 2000, convertEol: false });
  term.open(box);
  syncStyles();
  term.onData((d) => {
    if (typing && ws && ws.readyState === WebSocket.OPEN) ws.send(new TextEncoder().encode(d));
  });
  termStatus("connecting…");
  const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/console-live");
  ws = socket;
  socket.binaryType = "arraybuffer";
  // The token goes in the first message, never in the address.
  socket.onopen = () => socket.send(JSON.stringify({ token: token(), bmc: name }));
  socket.onmessage = (ev) => {
    if (ws !== socket) return;
    if (typeof ev.data !== "string") {
      term.write(new Uint8Array(ev.data));
      return;
    }
    const m = JSON.parse(ev.data);
    if (m.type === "ready") {
      $("term-type").hidden = !m.can_type;
      setTyping(false);
    } else if (m.type === "keyboard") {
      setTyping(m.held);
      if (m.error) termStatus("read-only: " + m.error);
    } else if (m.type === "error") {
      termStatus(m.error);
    }
  };
  socket.onclose = () => {
    if (ws !== socket) return;
    $("term-type").hidden = true;
    typing = false;
    termStatus(($("term-status").textContent || "") + " (closed)");
  };
}

function closeTerminal() {
  if (ws) {
    const old = ws;
    ws = null;
    old.close();
  }
  if (term) {
    term.dispose();
    term = null;
  }
  typing = false;
  $("term-type").hidden = true;
  termStatus("");
}
