// 运行: the cloud link and its backlog, the hall broker, the journal against its disk
// budget, and the alerts, with acknowledge after login.

import { fill, fillChanged, h, table } from "../dom.js";
import { bytes, clock, num, pct } from "../format.js";
import { t, tOr } from "../i18n.js";

export const SECTIONS = ["ops", "hall"];

export function render(state, ctx) {
  const ops = state.ops;
  if (!ops) return;
  const day = state.hall?.day ?? null;
  const cloud = ops.cloud ?? {};
  fill(
    "ops-links",
    h(
      "dl",
      { class: "facts" },
      fact(t("ops.cloud"), link(cloud.connected), "cloud"),
      fact(t("ops.backlog"), `${t("unit.msgs", { n: cloud.backlog ?? 0 })} · ${bytes(cloud.backlog_bytes)}`, "backlog"),
      fact(t("ops.rate"), t("unit.msg_s", { n: num(cloud.rate, 1) }), "rate"),
      fact(t("ops.last_error"), cloud.last_error || "–", "last_error"),
      fact(t("ops.hall_broker"), link(ops.hall_broker_connected), "hall_broker"),
    ),
  );
  journal(ops.journal ?? {});
  alerts(ops.alerts ?? [], day, ctx);
}

function fact(label, value, field) {
  return [h("dt", {}, label), h("dd", { dataset: { field } }, value)];
}

function link(up) {
  return h("span", { class: `badge ${up ? "online" : "offline"}` }, t(up ? "ops.connected" : "ops.disconnected"));
}

function journal(j) {
  const share = j.budget_bytes ? j.bytes / j.budget_bytes : null;
  const level = share === null ? "" : share > 0.9 ? "bad" : share > 0.7 ? "warn" : "ok";
  fill(
    "ops-journal",
    h("div", {}, t("ops.journal_of", { used: bytes(j.bytes), budget: bytes(j.budget_bytes), pct: pct(share) })),
    h(
      "div",
      { class: "meter" },
      h("div", { class: `meter-bar ${level}`, style: `width: ${Math.min(100, (share ?? 0) * 100)}%` }),
    ),
  );
}

function alerts(list, day, ctx) {
  const heads = [t("ops.alert_time"), t("ops.alert_kind"), t("ops.alert_text"), t("ops.alert_state")];
  const rows = () => list.map((a) => [
    { text: clock(a.time, day), class: "time" },
    { node: h("span", {}, a.severity ? h("span", { class: `sev sev-${a.severity}` }, tOr("severity", a.severity)) : "", " ", a.kind) },
    a.text,
    { node: alertState(a, ctx), dataset: { alert: a.id, acked: String(Boolean(a.acked)) } },
  ]);
  fillChanged("ops-alerts", JSON.stringify([list, day, ctx.authed, ctx.lang]), () =>
    table(heads, rows(), t("ops.no_alerts")),
  );
}

function alertState(a, ctx) {
  if (a.acked) return h("span", { class: "acked" }, a.acked_by ? t("ops.acked_by", { name: a.acked_by }) : t("ops.acked"));
  const open = h("span", { class: "bad" }, t("ops.unacked"));
  if (!ctx.authed) return open;
  const path = `/api/alerts/${encodeURIComponent(a.id)}/ack`;
  return h(
    "span",
    {},
    open,
    " ",
    h(
      "button",
      { type: "button", class: "act", dataset: { action: "ack", alert: a.id }, onclick: (ev) => ctx.act(path, ev.currentTarget) },
      t("action.ack"),
    ),
  );
}
