// Numbers, times and durations as the console shows them. Hall times are shown as the hall
// wrote them (their own offset), not in the browser's zone: a phone set to another zone
// still reads the hall's clock.

import { t } from "./i18n.js";

const DASH = "–";

/** "2026-12-03T10:04:05+08:00" → "10:04:05", or "12-02 10:04" when not on `day`. */
export function clock(iso, day = null) {
  if (!iso) return DASH;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso);
  if (!m) return String(iso);
  if (day && iso.slice(0, 10) !== day) return `${m[2]}-${m[3]} ${m[4]}:${m[5]}`;
  return `${m[4]}:${m[5]}:${m[6]}`;
}

/** Seconds as "6分52秒" / "6 min 52 s". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  const total = Math.round(seconds);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return m > 0 ? t("unit.dur", { m, s }) : t("unit.dur_s", { s });
}

/** A rate 0..1 as "93.5%". */
export function pct(rate, digits = 1) {
  if (rate === null || rate === undefined) return DASH;
  return `${(rate * 100).toFixed(digits)}%`;
}

export function num(value, digits = 0) {
  if (value === null || value === undefined) return DASH;
  return Number(value).toFixed(digits);
}

export function bytes(n) {
  if (n === null || n === undefined) return DASH;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export { DASH };

/** Seconds as "5:24" (minutes:seconds), for dense tables. */
export function mmss(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  const total = Math.round(seconds);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}
