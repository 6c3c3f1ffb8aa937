// 评价与标兵窗口: today's satisfaction, the month's race for the model counter as a chart
// (each counter's month-to-date satisfaction rate day by day) and the ranking table.

import { fitWidth, lineChart } from "../charts.js";
import { fill, h, table } from "../dom.js";
import { num, pct } from "../format.js";
import { t } from "../i18n.js";

export const SECTIONS = ["ratings"];

let chart = null;
let chartKey = "";
let resizeHooked = false;

export function render(state, ctx) {
  const ratings = state.ratings;
  if (!ratings) return;
  today(ratings.today ?? {});
  fill("ratings-race-title", t("ratings.race", { month: ratings.month ?? "" }));
  race(ratings.race ?? { days: [], counters: [] }, ctx);
  ranking(ratings.ranking ?? [], ratings.model_counter);
}

function today(r) {
  fill(
    "ratings-today",
    h(
      "div",
      { class: "kpis" },
      kpi(t("ratings.rate"), pct(r.satisfaction_rate), "rate"),
      kpi(t("ratings.count"), r.count ?? 0, "count"),
      kpi(t("ratings.avg"), num(r.avg, 2), "avg"),
      kpi(t("ratings.satisfied"), r.satisfied ?? 0, "satisfied"),
    ),
  );
}

function kpi(label, value, field) {
  return h(
    "div",
    { class: "kpi" },
    h("div", { class: "kpi-value", dataset: { field } }, value),
    h("div", { class: "kpi-label" }, label),
  );
}

function race(data, ctx) {
  const el = document.getElementById("ratings-race");
  if (!el || typeof uPlot === "undefined") return;
  const series = data.counters.map((c) => ({
    label: `${t("ratings.counter")} ${c.counter}`,
    values: c.scores,
  }));
  // A new chart when the days, counters or language change; otherwise only new data (a new
  // chart on every update would flicker on the wall screen).
  const key = `${ctx.lang}|${data.days.join(",")}|${data.counters.map((c) => c.counter).join(",")}`;
  const rows = [data.days.map((_, i) => i), ...series.map((s) => s.values)];
  if (chart && key === chartKey && el.isConnected && el.firstChild) {
    chart.setData(rows);
    return;
  }
  if (chart) chart.destroy();
  chartKey = key;
  chart = lineChart(el, { labels: data.days, series, xLabel: t("kpi.day"), height: 320 });
  if (!resizeHooked) {
    fitWidth(() => chart, el);
    resizeHooked = true;
  }
}

function ranking(rows, model) {
  const heads = ["rank", "counter", "eligible", "rated", "rate", "avg_level", "completed"];
  const body = rows.map((r) => [
    { text: r.rank, class: "num" },
    {
      node: h(
        "span",
        {},
        String(r.counter),
        String(r.counter) === String(model) ? h("b", { class: "star", title: t("ratings.model") }, " ★") : "",
      ),
    },
    r.eligible ? t("yes") : t("no"),
    { text: r.rated, class: "num" },
    { text: pct(r.satisfaction_rate), class: "num" },
    { text: num(r.avg_level, 2), class: "num" },
    { text: r.completed, class: "num" },
  ]);
  const labels = heads.map((k) => t(k === "rate" ? "ratings.rate" : `ratings.${k}`));
  fill("ratings-ranking", table(labels, body, t("queue.none")));
  fill(
    "ratings-model",
    model === null || model === undefined
      ? t("ratings.no_model")
      : h("span", {}, `${t("ratings.model")}: `, h("b", { class: "star" }, `★ ${model}`)),
  );
}
