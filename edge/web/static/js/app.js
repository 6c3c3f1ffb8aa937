// The console page: keeps the last view from the hub, renders the tab modules from it, and
// renders again only the tabs that read a section when that section changes.

import * as api from "./api.js";
import { fill } from "./dom.js";
import { clock } from "./format.js";
import { applyStatic, lang, otherLang, setLang, t } from "./i18n.js";
import * as counters from "./tabs/counters.js";
import * as devices from "./tabs/devices.js";
import * as ops from "./tabs/ops.js";
import * as queue from "./tabs/queue.js";
import * as ratings from "./tabs/ratings.js";

const TABS = { queue, counters, devices, ratings, ops };
let state = {};
let user = null;

function ctx() {
  return { authed: user !== null, lang: lang(), act };
}

function renderAll() {
  header();
  for (const tab of Object.values(TABS)) tab.render(state, ctx());
}

function renderSection(name) {
  if (name === "hall") header();
  for (const tab of Object.values(TABS)) if (tab.SECTIONS.includes(name)) tab.render(state, ctx());
  document.body.dataset.updated = String(Date.now());
}

function header() {
  const hall = state.hall ?? {};
  fill("hall-name", hall.name ?? "");
  fill("hall-time", clock(hall.time));
  fill("user-name", user ? t("user.as", { name: user.name }) : "");
  document.body.classList.toggle("authed", user !== null);
  fill("lang-switch", t("lang.switch"));
  document.title = `${t("app.title")}${hall.name ? ` · ${hall.name}` : ""}`;
}

function onLink(up) {
  const el = document.getElementById("live");
  el.classList.toggle("down", !up);
  el.dataset.live = String(up);
  fill(el, t(up ? "live.ok" : "live.down"));
}

// --- tabs: one shown at a time on a phone; the choice is kept in the URL's #hash ---

function showTab(name) {
  const chosen = name in TABS ? name : "queue";
  for (const el of document.querySelectorAll("[data-tab]")) {
    el.classList.toggle("active", el.dataset.tab === chosen);
    el.setAttribute("aria-selected", String(el.dataset.tab === chosen));
  }
  for (const el of document.querySelectorAll(".panel")) el.hidden = el.id !== `tab-${chosen}`;
  // The race chart measured a hidden (zero-wide) box; draw it again at its real width.
  if (chosen === "ratings") ratings.render(state, { ...ctx(), lang: `${lang()}#shown` });
}

// --- login and actions ---

function setUser(next) {
  user = next;
  renderAll();
}

async function submitLogin(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const error = document.getElementById("login-error");
  error.textContent = "";
  const result = await api.login(form.elements.name.value, form.elements.password.value);
  if (result.ok) {
    form.reset();
    document.getElementById("login-dialog").close();
    setUser({ name: result.name });
    return;
  }
  form.elements.password.value = "";
  if (result.status === 401) error.textContent = t("login.wrong");
  else if (result.status === 429) error.textContent = t("login.limited", { s: result.retryAfter ?? "?" });
  else error.textContent = result.error || t("login.failed");
  error.dataset.status = String(result.status);
}

/** Runs an action button's POST; the view itself changes when the hub's update arrives. */
async function act(path, button) {
  button.disabled = true;
  const result = await api.post(path).catch((err) => ({ ok: false, status: 0, body: { error: String(err) } }));
  if (result.status === 401) setUser(null);
  if (!result.ok) toast(t("action.failed", { msg: result.body.error ?? result.status }), true);
  else if (path.endsWith("/ack")) markAcked(path);
  else toast(t("action.done"), false);
  button.disabled = false;
}

// The ack's reply is the new truth for that alert; show it now rather than wait for `ops`.
function markAcked(path) {
  const id = decodeURIComponent(path.split("/")[3]);
  const alert = (state.ops?.alerts ?? []).find((a) => String(a.id) === id);
  if (alert && !alert.acked) {
    alert.acked = true;
    alert.acked_by = user?.name ?? null;
    renderSection("ops");
  }
}

function toast(text, bad) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.className = bad ? "show bad" : "show";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.className = ""), 4000);
}

function wire() {
  for (const el of document.querySelectorAll("[data-tab]")) {
    el.addEventListener("click", () => {
      location.hash = el.dataset.tab;
    });
  }
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
  document.getElementById("lang-switch").addEventListener("click", () => {
    setLang(otherLang());
    renderAll();
    onLink(document.getElementById("live").dataset.live === "true");
  });
  document.getElementById("login-open").addEventListener("click", () => {
    document.getElementById("login-error").textContent = "";
    document.getElementById("login-dialog").showModal();
  });
  document.getElementById("login-cancel").addEventListener("click", () => {
    document.getElementById("login-dialog").close();
  });
  document.getElementById("login-form").addEventListener("submit", submitLogin);
  document.getElementById("logout").addEventListener("click", async () => {
    await api.logout().catch(() => {});
    setUser(null);
  });
}

async function main() {
  applyStatic(document);
  wire();
  showTab(location.hash.slice(1));
  onLink(false);
  api.follow({
    onState: (next) => {
      state = next;
      if (next.user && !user) user = next.user;
      renderAll();
      document.body.dataset.updated = String(Date.now());
    },
    onSection: (name, data) => {
      state[name] = data;
      renderSection(name);
    },
    onLink,
  });
  const s = await api.session().catch(() => null);
  if (s) setUser({ name: s.name });
}

main();
