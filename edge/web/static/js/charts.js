// Line charts with the vendored uPlot (static/vendor/uplot, a global `uPlot`). The x axis is
// the index of a day label, so days show as the hall wrote them whatever the browser's zone.

const PALETTE = [
  "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
  "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
];

export function colour(i) {
  return PALETTE[i % PALETTE.length];
}

/** A line chart in `el`: `labels` for x (e.g. "2026-12-01"), `series` [{label, values}],
 * values in 0..1 shown as percent when `percent`. Returns the uPlot instance. */
export function lineChart(el, { labels, series, xLabel = "", width, height = 300, percent = true }) {
  el.replaceChildren();
  const xs = labels.map((_, i) => i);
  const opts = {
    width: width ?? Math.max(320, el.clientWidth || 600),
    height,
    scales: { x: { time: false }, y: percent ? { range: yRange } : {} },
    axes: [
      {
        values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? shortDay(labels[i]) : "")),
        incrs: [1, 2, 5, 7, 10],
      },
      { values: (_u, splits) => splits.map((v) => (percent ? `${Math.round(v * 100)}%` : v)), size: 60 },
    ],
    series: [
      { label: xLabel, value: (_u, i) => (i === null ? "" : labels[i] ?? "") },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.colour ?? colour(i),
        width: 2,
        spanGaps: false,
        points: { size: 5 },
        value: (_u, v) => (v === null ? "–" : percent ? `${(v * 100).toFixed(1)}%` : String(v)),
      })),
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
  const data = [xs, ...series.map((s) => s.values.map((v) => (v === undefined ? null : v)))];
  return new uPlot(opts, data, el);
}

// The y range of a percent chart: to 100%, from a little under the lowest value, so close
// scores (93% against 95%) stay apart.
function yRange(_u, min, max) {
  if (min === null || max === null) return [0, 1];
  const low = Math.max(0, Math.floor((min - 0.02) * 20) / 20);
  return [Math.min(low, max - 0.05), 1];
}

function shortDay(label) {
  return label && /^\d{4}-\d{2}-\d{2}$/.test(label) ? label.slice(5) : label ?? "";
}

/** Keeps a chart as wide as its box when the window is resized (the wall screen and a
 * phone turned sideways). */
export function fitWidth(getChart, el) {
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => {
      const chart = getChart();
      if (chart && el.clientWidth) chart.setSize({ width: el.clientWidth, height: chart.height });
    }, 150);
  });
}
