// 排队: per service the waiting count, longest wait and next numbers; each counter's current
// ticket; the tickets called in the last minutes.

import { fill, h, table } from "../dom.js";
import { clock, duration } from "../format.js";
import { lang, t, tOr } from "../i18n.js";

export const SECTIONS = ["queue", "counters", "hall"];

export function render(state) {
  const queue = state.queue ?? { services: [], recent_calls: [] };
  const day = state.hall?.day ?? null;
  fill("queue-services", servicesTable(queue.services ?? []));
  fill("queue-serving", serving(state.counters ?? []));
  fill("queue-recent", recentTable(queue.recent_calls ?? [], day));
}

function servicesTable(services) {
  const rows = services.map((s) => [
    { text: serviceName(s), class: "name" },
    { text: s.waiting, class: "num big", dataset: { service: s.service, field: "waiting" } },
    { text: duration(s.longest_wait_s), class: "num" },
    { text: s.open_counters, class: "num" },
    { text: s.est_wait_min === null ? "–" : t("unit.min", { n: s.est_wait_min }), class: "num" },
    {
      node: h("span", { class: "tickets" }, (s.next ?? []).map((n) => h("b", {}, n))),
      dataset: { service: s.service, field: "next" },
    },
  ]);
  const heads = ["service", "waiting", "longest", "open_counters", "est", "next"];
  return table(
    heads.map((k) => t(`queue.${k}`)),
    rows,
    t("queue.none"),
  );
}

function serving(counters) {
  if (counters.length === 0) return h("p", { class: "empty" }, t("queue.none"));
  return h(
    "div",
    { class: "tiles" },
    counters.map((c) =>
      h(
        "div",
        { class: `tile state-${c.state}`, dataset: { counter: c.counter } },
        h("div", { class: "tile-name" }, c.name || `${c.counter}`),
        h("div", { class: "tile-ticket", dataset: { field: "current" } }, c.current ?? "–"),
        h("div", { class: "tile-state" }, t(`state.${c.state}`)),
      ),
    ),
  );
}

function recentTable(calls, day) {
  const rows = calls.map((c) => [
    { text: c.ticket_no, class: "ticket" },
    { text: c.counter, class: "num" },
    { text: clock(c.time, day), class: "time" },
  ]);
  return table(
    [t("queue.ticket"), t("queue.counter"), t("queue.time")],
    rows,
    t("queue.none"),
  );
}

// The hub sends the hall's own names ([queue.services] name_zh, name_en); in English a
// service without a name_en (the hub sends the zh-CN one then) gets the tables' name of its code.
function serviceName(s) {
  if (lang() === "zh-CN") return s.name || s.service;
  if (s.name_en && s.name_en !== s.name) return s.name_en;
  const known = tOr("service", s.service);
  return known !== s.service ? known : s.name || s.service;
}
