// The printable monthly report: the KPIs of docs/kpi.md for one month (GET /api/report),
// as tables and two charts, laid out for A4 (report.css) so the browser prints it or saves
// it as PDF.

import { lineChart } from "./charts.js";
import { fill, h, table } from "./dom.js";
import { mmss, num, pct } from "./format.js";
import { applyStatic, otherLang, setLang, t, tOr } from "./i18n.js";

// An A4 page less its margins is about 180 mm, 680 CSS px: charts drawn at that width print
// without scaling.
const CHART_WIDTH = 680;

const FIGURES = {
  issued: (v) => num(v),
  completed: (v) => num(v),
  abandoned: (v) => num(v),
  wait_median_s: mmss,
  wait_p90_s: mmss,
  service_median_s: mmss,
  service_p90_s: mmss,
  within_norm_rate: (v) => pct(v),
  rated: (v) => num(v),
  avg_level: (v) => num(v, 2),
  satisfaction_rate: (v) => pct(v),
  participation_rate: (v) => pct(v),
  poor: (v) => num(v),
  timed_out: (v) => num(v),
  active_days: (v) => num(v),
};
const GROUP_COLUMNS = [
  "completed", "abandoned", "wait_median_s", "service_median_s", "service_p90_s",
  "within_norm_rate", "rated", "avg_level", "satisfaction_rate", "participation_rate", "poor",
  "active_days",
];
const DAY_COLUMNS = [
  "issued", "completed", "abandoned", "wait_median_s", "service_median_s", "within_norm_rate",
  "rated", "satisfaction_rate",
];

let report = null;
let hallName = "";

function monthAsked() {
  const m = new URLSearchParams(location.search).get("month");
  return m && /^\d{4}-\d{2}$/.test(m) ? m : null;
}

async function load(month) {
  const res = await fetch(`/api/report?month=${month}`);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

function render() {
  applyStatic(document);
  fill("lang-switch", t("lang.switch"));
  document.title = `${t("report.title")} ${report?.month ?? ""}`;
  if (!report) return;
  document.getElementById("month").value = report.month;
  fill("r-month", report.month);
  fill("r-hall", hallName);
  summary(report.hall);
  model(report.model_window);
  charts(report.days ?? []);
  fill("r-counters", groupTable(report.counters ?? [], (k) => k, true));
  fill("r-staff", groupTable(report.staff ?? [], (k) => k, true));
  fill("r-services", groupTable(report.services ?? [], (k) => tOr("service", k), false));
  payments(report.payments ?? { counts: {} });
  feedback(report.feedback ?? {});
  days(report.days ?? []);
  fill(
    "r-generated",
    t("report.generated", { time: hallNow(report.timezone), tz: report.timezone }),
  );
  document.getElementById("r-status").hidden = true;
  document.getElementById("r-body").hidden = false;
  document.body.dataset.rendered = report.month;
}

// Now on the hall's clock (its time zone), as the report's figures are.
function hallNow(zone) {
  try {
    return new Intl.DateTimeFormat("sv-SE", { timeZone: zone, dateStyle: "short", timeStyle: "short" }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 16).replace("T", " ");
  }
}

function summary(hall) {
  const keys = [
    "issued", "completed", "abandoned", "wait_median_s", "wait_p90_s", "service_median_s",
    "service_p90_s", "within_norm_rate", "rated", "avg_level", "satisfaction_rate",
    "participation_rate", "poor", "timed_out",
  ];
  fill(
    "r-summary",
    keys.map((k) =>
      h("div", { class: "kpi" }, h("div", { class: "kpi-value", dataset: { field: k } }, FIGURES[k](hall[k])), h("div", { class: "kpi-label" }, t(`kpi.${k}`))),
    ),
  );
}

function model(w) {
  if (!w || w.counter === null || w.counter === undefined) {
    fill("r-model", h("p", {}, t("ratings.no_model")));
    fill("r-standings", w ? standings(w.standings ?? []) : "");
    return;
  }
  fill(
    "r-model",
    h(
      "p",
      { class: "model" },
      h("b", { class: "star" }, `★ ${t("ratings.counter")} ${(w.counters ?? [w.counter]).join("、")}`),
      ` · ${t("kpi.satisfaction_rate")} ${pct(w.satisfaction_rate)} · ${t("kpi.avg_level")} ${num(w.avg_level, 2)}`,
      ` · ${t("kpi.rated")} ${w.rated} · ${t("kpi.completed")} ${w.completed}`,
    ),
    h("p", {}, `${t("report.model_staff")}: ${(w.staff ?? []).join("、") || "–"}`),
  );
  fill("r-standings", standings(w.standings ?? []));
}

function standings(rows) {
  const heads = ["ratings.rank", "ratings.counter", "ratings.eligible", "kpi.rated", "kpi.satisfaction_rate", "kpi.avg_level", "kpi.completed"];
  return table(
    heads.map((k) => t(k)),
    rows.map((r) => [
      { text: r.rank, class: "num" },
      String(r.counter),
      r.eligible ? t("yes") : t("no"),
      { text: r.rated, class: "num" },
      { text: pct(r.satisfaction_rate), class: "num" },
      { text: num(r.avg_level, 2), class: "num" },
      { text: r.completed, class: "num" },
    ]),
    t("queue.none"),
  );
}

function groupTable(groups, name, withMembers) {
  const heads = [t("kpi.key"), ...GROUP_COLUMNS.map((k) => t(`kpi.${k}`))];
  if (withMembers) heads.push(t("kpi.members"));
  const rows = groups.map((g) => {
    const cells = [name(g.key), ...GROUP_COLUMNS.map((k) => ({ text: FIGURES[k](g[k]), class: "num" }))];
    if (withMembers) cells.push((g.members ?? []).join(" "));
    return cells;
  });
  return table(heads, rows, t("queue.none"));
}

function payments(p) {
  const total = p.total ?? 0;
  const rows = Object.entries(p.counts ?? {}).map(([bucket, n]) => [
    tOr("bucket", bucket),
    { text: n, class: "num" },
    { text: total ? pct(n / total) : "–", class: "num" },
    { node: h("span", { class: "bar", style: `width: ${total ? (100 * n) / total : 0}%` }) },
  ]);
  rows.push([{ text: t("kpi.total"), class: "name" }, { text: total, class: "num" }, "", ""]);
  fill(
    "r-payments",
    table([t("kpi.bucket"), t("kpi.count"), t("kpi.share"), ""], rows),
    h("p", {}, `${t("kpi.non_counter_share")}: ${pct(p.non_counter_share)} · ${t("kpi.kiosk_failed")}: ${p.kiosk_failed ?? 0}`),
  );
}

function feedback(f) {
  const keys = ["complaints", "suggestions", "praise", "other", "complaints_open"];
  fill("r-feedback", table(keys.map((k) => t(`kpi.${k}`)), [keys.map((k) => ({ text: f[k] ?? 0, class: "num" }))]));
}

function days(rows) {
  const heads = [t("kpi.day"), ...DAY_COLUMNS.map((k) => t(`kpi.${k}`)), t("kpi.total")];
  const body = rows.map((d) => [
    d.day.slice(5),
    ...DAY_COLUMNS.map((k) => ({ text: FIGURES[k](d.hall[k]), class: "num" })),
    { text: d.payments?.total ?? 0, class: "num" },
  ]);
  fill("r-days", table(heads, body));
}

function charts(rows) {
  const labels = rows.map((d) => d.day);
  const volume = document.getElementById("r-chart-volume");
  lineChart(volume, {
    labels,
    xLabel: t("kpi.day"),
    width: CHART_WIDTH,
    height: 220,
    percent: false,
    series: [
      { label: t("kpi.issued"), values: rows.map((d) => d.hall.issued) },
      { label: t("kpi.completed"), values: rows.map((d) => d.hall.completed) },
    ],
  });
  lineChart(document.getElementById("r-chart-quality"), {
    labels,
    xLabel: t("kpi.day"),
    width: CHART_WIDTH,
    height: 220,
    series: [
      { label: t("kpi.satisfaction_rate"), values: rows.map((d) => d.hall.satisfaction_rate) },
      { label: t("kpi.within_norm_rate"), values: rows.map((d) => d.hall.within_norm_rate) },
    ],
  });
}

/** The hall's name and today's month in hall time, from the live view (the report has
 * neither); without it the month is the browser's own. */
async function hall() {
  try {
    const res = await fetch("/api/state");
    if (res.ok) {
      const view = (await res.json()).hall ?? {};
      hallName = view.name ?? "";
      if (/^\d{4}-\d{2}/.test(view.day ?? "")) return view.day.slice(0, 7);
    }
  } catch {
    hallName = "";
  }
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
}

async function main() {
  applyStatic(document);
  document.getElementById("print").addEventListener("click", () => window.print());
  document.getElementById("lang-switch").addEventListener("click", () => {
    setLang(otherLang());
    render();
  });
  document.getElementById("toolbar").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const month = document.getElementById("month").value;
    if (month) location.search = `?month=${month}`;
  });
  try {
    const current = await hall();
    report = await load(monthAsked() ?? current);
    render();
  } catch (err) {
    fill("r-status", t("report.failed", { msg: err.message }));
    document.getElementById("r-status").classList.add("bad");
  }
}

main();
