// A worker's vitals as the worker list shows them: CPU, memory, GPU, Blender, the frame it renders.
// Pure functions of the worker and the clock. The dashboard says the same things the same way
// (app/ui/models/vitals_words.py). A worker without vitals (a stock Flamenco worker, an
// offline one, one whose last report is old) shows "—" in each column, never 0.

import { parseTime } from "./format.js";

export const NONE = "—";
const STALE_MS = 90_000; // as the Manager: older reports are not shown

/** The worker's vitals while they are current, or null. */
export function vitalsOf(worker, now) {
  const v = worker && worker.vitals;
  if (!v || worker.status === "offline") return null;
  const at = parseTime(v.updated);
  return !Number.isNaN(at) && now - at > STALE_MS ? null : v;
}

const pct = (n) => `${Math.round(n)}%`;
const has = (n) => typeof n === "number" && Number.isFinite(n);

/** Bytes as GiB: "9.2", "32" (no ".0"), "128" (no decimals from 100 GiB on). */
export function gib(bytes) {
  const g = bytes / 1024 ** 3;
  const text = g >= 100 ? g.toFixed(0) : g.toFixed(1);
  return text.endsWith(".0") ? text.slice(0, -2) : text;
}

/** "87% of 16": the whole machine's use, of its logical CPUs. */
export function cpuText(v) {
  if (!v || !has(v.cpu_percent)) return NONE;
  return has(v.cpu_count) ? `${pct(v.cpu_percent)} of ${v.cpu_count}` : pct(v.cpu_percent);
}

/** The tooltip: the machine's share, and that of the worker and its renders. */
export function cpuTitle(v) {
  if (!v || !has(v.cpu_percent)) return undefined;
  const cores = has(v.cpu_count) ? ` of ${v.cpu_count} logical CPUs` : "";
  const render = has(v.render_cpu_percent) ? `; the worker and its renders ${pct(v.render_cpu_percent)}` : "";
  return `the machine uses ${pct(v.cpu_percent)}${cores}${render}`;
}

/** "9.2 / 32 GiB" used of all. */
export function memoryText(v) {
  if (!v || !has(v.memory_used) || !has(v.memory_total)) return NONE;
  return `${gib(v.memory_used)} / ${gib(v.memory_total)} GiB`;
}

/** The first GPU's name and use ("NVIDIA RTX A4000 · 97%"), "+1" per other GPU. */
export function gpuText(v) {
  const gpus = (v && v.gpus) || [];
  if (!gpus.length) return NONE;
  const first = gpus[0];
  const use = has(first.percent) ? ` · ${pct(first.percent)}` : "";
  return `${first.name}${use}${gpus.length > 1 ? ` +${gpus.length - 1}` : ""}`;
}

/** Every GPU, one per line, for the tooltip. */
export function gpuTitle(v) {
  const gpus = (v && v.gpus) || [];
  return gpus.map((g) => `${g.name}${has(g.percent) ? `: ${pct(g.percent)} busy` : ""}`
    + (has(g.memory_used) && has(g.memory_total) ? `, ${gib(g.memory_used)} / ${gib(g.memory_total)} GiB` : ""))
    .join("\n");
}

export function blenderText(v) {
  return (v && v.blender_version) || NONE;
}

/** "frame 12 · 64/128 samples" while rendering: only while a task runs (`rendering`), as a report
 * sent just before a render ended still names its frame until the worker's next one. */
export function renderText(v, rendering = true) {
  if (!v || !has(v.frame) || !rendering) return NONE;
  const samples = has(v.sample) && has(v.samples_total) && v.samples_total > 0
    ? ` · ${v.sample}/${v.samples_total} samples` : "";
  return `frame ${v.frame}${samples}`;
}

/** A sort key that puts workers without a figure last. */
export const sortNumber = (n) => (has(n) ? n : -1);
