// 设备: every configured device, online or offline and since when, its last event, its own
// health where its profile reports it, and its dead letters of the last hour.

import { fill, h, table } from "../dom.js";
import { clock } from "../format.js";
import { t, tOr } from "../i18n.js";

export const SECTIONS = ["devices", "hall"];

export function render(state) {
  const day = state.hall?.day ?? null;
  const devices = state.devices ?? [];
  const online = devices.filter((d) => d.online === true).length;
  const offline = devices.filter((d) => d.online === false).length;
  fill(
    "devices-summary",
    h("span", { class: "ok" }, `${t("devices.online")} ${online}`),
    " · ",
    h("span", { class: offline ? "bad" : "" }, `${t("devices.offline")} ${offline}`),
    devices.length - online - offline ? ` · ${t("devices.unknown")} ${devices.length - online - offline}` : "",
  );
  const heads = ["device", "kind", "status", "since", "last", "health", "dead"];
  const rows = devices.map((d) => row(d, day));
  fill("devices-table", table(heads.map((k) => t(`devices.${k}`)), rows, t("queue.none")));
}

function row(d, day) {
  // null: the hub has heard no availability from it yet (a device without a state topic).
  const status = d.online === true ? "online" : d.online === false ? "offline" : "unknown";
  return [
    { node: h("span", {}, h("b", {}, d.name || d.id), d.name ? h("small", {}, ` ${d.id}`) : "") },
    tOr("kind", d.kind),
    {
      node: h("span", { class: `badge ${status}` }, t(`devices.${status}`)),
      dataset: { device: d.id, field: "online", online: String(d.online ?? "unknown") },
    },
    { text: clock(d.since, day), class: "time" },
    {
      node: h(
        "span",
        {},
        clock(d.last_event, day),
        d.last_event_type ? h("small", {}, ` ${d.last_event_type}`) : "",
      ),
    },
    { node: health(d.health) },
    { text: d.dead_letters_1h ?? 0, class: d.dead_letters_1h ? "num bad" : "num" },
  ];
}

function health(values) {
  if (!values || Object.keys(values).length === 0) return "–";
  return h(
    "span",
    { class: "health" },
    Object.entries(values).map(([key, value]) =>
      h("span", { class: `hv hv-${healthLevel(key, value)}` }, `${tOr("health", key)} ${show(key, value)}`),
    ),
  );
}

function show(key, value) {
  if (key === "battery" && typeof value === "number") return `${value}%`;
  if (typeof value === "boolean") return value ? t("yes") : t("no");
  return tOr("value", value);
}

// A value worth a glance from across the hall: paper running out, a low battery, a fault.
function healthLevel(key, value) {
  if (key === "battery" && typeof value === "number") return value < 20 ? "bad" : "ok";
  if (["end", "out", "full"].includes(value)) return "bad";
  if (value === "near_end") return "warn";
  if (key === "fault" || key === "error") return value && value !== "ok" ? "bad" : "ok";
  return "ok";
}
