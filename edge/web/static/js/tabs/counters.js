// 窗口: each counter's state, staff on duty, current ticket, served today, average service
// time and today's ratings; after login, pause / resume and call the ticket again.

import { fillChanged, h, table } from "../dom.js";
import { duration, num, pct } from "../format.js";
import { t } from "../i18n.js";

export const SECTIONS = ["counters"];

export function render(state, ctx) {
  const counters = state.counters ?? [];
  const heads = ["counter", "state", "staff", "current", "served", "avg", "ratings"];
  if (ctx.authed) heads.push("actions");
  fillChanged("counters-table", JSON.stringify([counters, ctx.authed, ctx.lang]), () =>
    table(
      heads.map((k) => t(`counters.${k}`)),
      counters.map((c) => row(c, ctx)),
      t("queue.none"),
    ),
  );
}

function row(c, ctx) {
  const r = c.ratings_today ?? { count: 0, avg: null, satisfied: 0 };
  const rate = r.count ? r.satisfied / r.count : null;
  const cells = [
    { text: c.name || c.counter, class: "name" },
    {
      node: h("span", { class: `badge state-${c.state}` }, t(`state.${c.state}`)),
      dataset: { counter: c.counter, field: "state" },
    },
    c.staff_id || "–",
    { text: c.current ?? "–", class: "ticket", dataset: { counter: c.counter, field: "current" } },
    { text: c.served_today, class: "num" },
    { text: duration(c.avg_service_s), class: "num" },
    { text: `${r.count} · ${num(r.avg, 1)} · ${pct(rate, 0)}`, class: "num" },
  ];
  if (ctx.authed) cells.push({ node: actions(c, ctx) });
  return cells;
}

function actions(c, ctx) {
  const base = `/api/counters/${encodeURIComponent(c.counter)}`;
  const buttons = [];
  if (c.state === "open") buttons.push(button("pause", `${base}/pause`, c, ctx));
  if (c.state === "paused") buttons.push(button("resume", `${base}/resume`, c, ctx));
  if (c.current) buttons.push(button("recall", `${base}/recall`, c, ctx));
  return h("span", { class: "actions" }, buttons);
}

function button(action, path, c, ctx) {
  return h(
    "button",
    {
      type: "button",
      class: "act",
      dataset: { action, counter: c.counter },
      onclick: (ev) => ctx.act(path, ev.currentTarget),
    },
    t(`action.${action}`),
  );
}
