// LumenFlow console: plain DOM, no framework, no build step, nothing loaded from elsewhere.
// Every value from the server is put in the page with textContent (never innerHTML): the
// actions shown are written by the governed agent, which is the adversary.
"use strict";

const $ = (sel, root) => (root || document).querySelector(sel);
const state = { csrf: null, person: null, events: null, tab: "pending", refreshTimer: null };

function show(el, on) { el.hidden = !on; }
function text(el, value) { el.textContent = value == null ? "" : String(value); return el; }

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["content-type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET" && state.csrf) opts.headers["x-lumenflow-csrf"] = state.csrf;
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (res.status === 401 && path !== "/api/login" && path !== "/api/session") { loggedOut(); }
  if (!res.ok) {
    const err = new Error((data && data.error) || ("HTTP " + res.status));
    err.status = res.status;
    throw err;
  }
  return data;
}

function loggedOut() {
  state.csrf = null; state.person = null;
  if (state.events) { state.events.close(); state.events = null; }
  setLive(false);
  show($("#app-view"), false); show($("#logout"), false); text($("#who"), "");
  show($("#login-view"), true);
}

function loggedIn(session) {
  state.csrf = session.csrf; state.person = session.person;
  text($("#who"), "signed in as " + session.person);
  show($("#login-view"), false); show($("#app-view"), true); show($("#logout"), true);
  connectEvents();
  refresh();
}

function setLive(on) {
  const el = $("#live");
  el.className = "live " + (on ? "on" : "off");
  text(el, on ? "live" : "offline");
}

function connectEvents() {
  if (state.events) state.events.close();
  const es = new EventSource("/api/events");
  state.events = es;
  es.onopen = () => setLive(true);
  es.onerror = () => setLive(false);
  es.addEventListener("change", () => scheduleRefresh());
}

function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => { state.refreshTimer = null; refresh(); }, 100);
}

function refresh() {
  loadRequests().catch(showError);
  if (state.tab === "timeline") loadTimeline().catch(showError);
  if (state.tab === "budgets") loadBudgets().catch(showError);
}

function showError(e) { text($("#app-error"), e && e.message ? e.message : String(e)); }

function fmtTime(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const left = Math.round((d - Date.now()) / 1000);
  const rel = left > 0 ? " (in " + human(left) + ")" : " (" + human(-left) + " ago)";
  return iso + rel;
}

function human(s) {
  if (s < 90) return s + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  return Math.round(s / 3600) + " h";
}

function renderDiff(pre, diff) {
  pre.replaceChildren();
  for (const line of diff.split("\n")) {
    const span = document.createElement("span");
    if (line.startsWith("+") && !line.startsWith("+++")) span.className = "add";
    else if (line.startsWith("-") && !line.startsWith("---")) span.className = "del";
    span.textContent = line + "\n";
    pre.appendChild(span);
  }
}

function card(r) {
  const node = $("#request-card").content.firstElementChild.cloneNode(true);
  node.dataset.request = r.id;
  const p = r.presentation || {};
  text($(".summary", node), p.summary || r.tool);
  const st = $(".state", node); text(st, r.state); st.classList.add(r.state);
  text($(".tool", node), r.tool);
  text($(".asker", node), r.actor + " (session " + (r.session || "none") + ")" + (r.asked_by ? ", " + r.asked_by : ""));
  text($(".rules", node), (r.rules || []).join(", "));
  text($(".approvers", node), (r.approvers && r.approvers.length) ? r.approvers.join(", ") : "anyone but the proposer");
  text($(".quorum", node), r.approvals + " of " + r.quorum + " approvals");
  text($(".expires", node), fmtTime(r.expires_at));
  text($(".rid", node), r.id);
  if (Array.isArray(p.commands) && p.commands.length) {
    const tb = $(".commands tbody", node);
    for (const c of p.commands) {
      const tr = document.createElement("tr");
      const notes = [c.dynamic ? "computed at run time" : "", c.opaque ? "runs code not shown" : "",
        (c.via && c.via.length) ? "via " + c.via.join(" ") : "", (c.env && c.env.length) ? c.env.join(" ") : ""]
        .filter(Boolean).join("; ");
      for (const v of [c.name, (c.args || []).join(" "), c.cwd, notes]) {
        tr.appendChild(text(document.createElement("td"), v));
      }
      tb.appendChild(tr);
    }
    show($(".commands", node), true);
  } else if (p.commands && p.commands.error) {
    const tb = $(".commands tbody", node);
    const tr = document.createElement("tr");
    const td = text(document.createElement("td"), "cannot be parsed: " + p.commands.error);
    td.colSpan = 4; tr.appendChild(td); tb.appendChild(tr);
    show($(".commands", node), true);
  }
  if (p.url) {
    text($(".method", node), p.method); text($(".url", node), p.url);
    show($(".http", node), true);
  }
  if (p.diff) { renderDiff($(".diff pre", node), p.diff); show($(".diff", node), true); }
  text($(".args pre", node), JSON.stringify(r.action ? r.action.args : null, null, 2));
  if (r.votes && r.votes.length) {
    const ul = $(".votes ul", node);
    for (const v of r.votes) {
      const how = v.attested ? "attested: " + v.attested : (v.key_id ? "signed: " + v.key_id : "");
      ul.appendChild(text(document.createElement("li"), v.verdict + " by " + v.approver.id + " at " + v.at + (how ? " (" + how + ")" : "") + ": " + v.reason));
    }
    show($(".votes", node), true);
  }
  if (r.state === "pending") {
    const form = $(".vote", node);
    show(form, true);
    const vote = async (verdict) => {
      const reason = $(".reason", node).value.trim();
      const out = $(".vote-error", node);
      if (!reason) { text(out, "give a reason"); return; }
      text(out, "");
      try {
        await api("POST", "/api/requests/" + encodeURIComponent(r.id) + "/vote",
          { verdict, reason, binding: r.binding });
        refresh();
      } catch (e) { text(out, e.message); }
    };
    $(".approve", node).addEventListener("click", () => vote("approve"));
    $(".reject", node).addEventListener("click", () => vote("reject"));
  }
  return node;
}

async function loadRequests() {
  const data = await api("GET", "/api/requests");
  const pending = data.requests.filter((r) => r.state === "pending");
  // Keep a reason being typed across live refreshes.
  const typed = {};
  for (const el of document.querySelectorAll("#pending-list .card")) {
    const v = $(".reason", el).value; if (v) typed[el.dataset.request] = v;
  }
  const list = $("#pending-list");
  list.replaceChildren(...pending.map((r) => {
    const c = card(r);
    if (typed[r.id]) $(".reason", c).value = typed[r.id];
    return c;
  }));
  text($("#pending-count"), pending.length);
  show($("#pending-empty"), pending.length === 0);
  $("#requests-list").replaceChildren(...data.requests.slice().reverse().map(card));
}

function isoOf(input) {
  if (!input.value) return "";
  const d = new Date(input.value);
  return isNaN(d) ? "" : d.toISOString();
}

async function loadTimeline() {
  const q = new URLSearchParams();
  const add = (k, v) => { if (v) q.set(k, v); };
  add("kind", $("#f-kind").value); add("tool", $("#f-tool").value.trim());
  add("effect", $("#f-effect").value); add("since", isoOf($("#f-since"))); add("until", isoOf($("#f-until")));
  const data = await api("GET", "/api/evidence?" + q.toString());
  const tb = $("#timeline tbody");
  tb.replaceChildren(...data.records.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.kind = r.kind;
    for (const v of [r.seq, r.ts, r.kind, r.tool, r.effect, r.summary, r.note]) {
      tr.appendChild(text(document.createElement("td"), v));
    }
    return tr;
  }));
  text($("#timeline-note"), data.matched + " records match; showing the last " + data.records.length + " of them.");
}

async function loadBudgets() {
  const data = await api("GET", "/api/budgets");
  const tb = $("#budgets tbody");
  tb.replaceChildren(...data.budgets.map((b) => {
    const tr = document.createElement("tr");
    for (const v of [b.budget, b.account, b.spent + " " + b.unit, b.remaining + " " + b.unit, b.limit + " " + b.unit]) {
      tr.appendChild(text(document.createElement("td"), v));
    }
    return tr;
  }));
  show($("#budgets-empty"), data.budgets.length === 0);
}

async function runVerify() {
  text($("#verify-verdict"), "verifying…");
  try {
    const data = await api("GET", "/api/verify");
    const v = $("#verify-verdict");
    text(v, data.summary);
    v.className = "verdict " + (data.ok ? "good" : "bad");
    text($("#verify-report"), JSON.stringify(data.report, null, 2));
  } catch (e) { text($("#verify-verdict"), e.message); }
}

function selectTab(name) {
  state.tab = name;
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const p of document.querySelectorAll(".panel")) show(p, p.id === "tab-" + name);
  refresh();
}

function init() {
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    text($("#login-error"), "");
    try {
      const s = await api("POST", "/api/login", { id: $("#login-id").value, secret: $("#login-secret").value });
      $("#login-secret").value = "";
      loggedIn(s);
    } catch (e) { text($("#login-error"), e.message); }
  });
  $("#logout").addEventListener("click", async () => {
    try { await api("POST", "/api/logout", {}); } catch (_) { /* logged out either way */ }
    loggedOut();
  });
  for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => selectTab(b.dataset.tab));
  $("#filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadTimeline().catch(showError); });
  $("#verify-run").addEventListener("click", runVerify);
  api("GET", "/api/session").then(loggedIn, loggedOut);
}

init();
