// Building DOM nodes from data. Text always goes in as text nodes, never as HTML, so a
// device name or an alert text from the hall cannot inject markup.

/** h("td", {class: "num"}, "3") — attributes: `class`, `dataset` (object), `on<event>`
 * (a listener), anything else as an attribute (skipped when null/false). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of the element with id `id` (a missing element is left alone: the
 * report page shares renderers with parts the console lacks). */
export function fill(id, ...children) {
  const el = typeof id === "string" ? document.getElementById(id) : id;
  if (!el) return;
  el.replaceChildren();
  append(el, children);
}

/** Like `fill`, but builds and replaces the children only when `key` (e.g. the JSON of what
 * they show, the language and the login) differs from the last time: a button under the
 * pointer is not swapped for a new one by an update that changed nothing it shows. */
export function fillChanged(id, key, build) {
  const el = document.getElementById(id);
  if (!el || el.dataset.key === key) return;
  el.dataset.key = key;
  fill(el, build());
}

/** A table: `heads` are header texts, `rows` arrays of cells (a cell is text, a node, or
 * {text|node, class}). An empty body gets one row saying `empty`. */
export function table(heads, rows, empty = "") {
  const body = rows.map((cells) => h("tr", {}, cells.map(cell)));
  if (body.length === 0 && empty) {
    body.push(h("tr", {}, h("td", { class: "empty", colspan: heads.length }, empty)));
  }
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))),
    h("tbody", {}, body),
  );
}

function cell(value) {
  if (value !== null && typeof value === "object" && !(value instanceof Node)) {
    return h("td", { class: value.class, dataset: value.dataset }, value.node ?? value.text);
  }
  return h("td", {}, value);
}
