// Drift: what a refresh (in preview mode) found changed outside Pulumi, read from the engine's events.
// Pure: events in, report and Markdown out. Only property names are reported, never values (a value
// may be a secret the state holds).
import { stripColor, urnName } from "./diff";
import type { EngineEvent, OpType, StepEventMetadata } from "./events";

export interface DriftedResource {
  urn: string;
  name: string;
  type: string;
  /** `changed`: properties differ from the state; `deleted`: the resource is gone from the cloud. */
  kind: "changed" | "deleted";
  /** Changed property paths (e.g. `memorySize`, `tags.owner`), sorted. */
  properties: string[];
}

export interface DriftReport {
  stack: string;
  checked_at: string;
  drifted: DriftedResource[];
  /** Resources the refresh looked at (bookkeeping resources excluded). */
  checked: number;
  /** Errors the engine reported while refreshing (the check is then incomplete). */
  errors: string[];
}

const BOOKKEEPING = (type: string, urn: string) => type === "pulumi:pulumi:Stack" || (type.startsWith("pulumi:providers:") && urnName(urn).startsWith("default"));
/** Operations a refresh step may carry when the cloud differs from the state. */
const CHANGED_OPS: readonly OpType[] = ["refresh", "update", "replace"];

/** Property paths whose values differ, two levels deep (`tags.owner`), compared as JSON. */
function changedPaths(before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined, prefix = "", depth = 0): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const paths: string[] = [];
  for (const key of keys) {
    const a = before?.[key];
    const b = after?.[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
    if (depth < 1 && isObject(a) && isObject(b)) paths.push(...changedPaths(a, b, `${prefix}${key}.`, depth + 1));
    else paths.push(`${prefix}${key}`);
  }
  return paths;
}

function driftOf(m: StepEventMetadata): DriftedResource | undefined {
  const base = { urn: m.urn, name: urnName(m.urn), type: m.type };
  if (m.op === "delete" || (m.op === "refresh" && m.old && !m.new)) return { ...base, kind: "deleted", properties: [] };
  if (!CHANGED_OPS.includes(m.op)) return undefined;
  const fromEngine: string[] = m.detailedDiff ? Object.keys(m.detailedDiff) : m.diffs ?? [];
  const properties = fromEngine.length ? fromEngine : changedPaths(m.old?.outputs, m.new?.outputs);
  return properties.length ? { ...base, kind: "changed", properties: [...new Set(properties)].sort() } : undefined;
}

export function buildDriftReport(stack: string, events: readonly EngineEvent[], now = new Date()): DriftReport {
  // The outputs event carries the refreshed state; it wins over the step's pre event.
  const latest = new Map<string, StepEventMetadata>();
  const errors: string[] = [];
  for (const e of events) {
    const m = e.resOutputsEvent?.metadata ?? e.resourcePreEvent?.metadata;
    if (m && !BOOKKEEPING(m.type, m.urn)) latest.set(m.urn, m);
    if (e.diagnosticEvent?.severity === "error") errors.push(stripColor(e.diagnosticEvent.message).trim());
  }
  const drifted = [...latest.values()].map(driftOf).filter((d): d is DriftedResource => Boolean(d)).sort((a, b) => a.urn.localeCompare(b.urn));
  return { stack, checked_at: now.toISOString(), drifted, checked: latest.size, errors };
}

/** The hidden first line that identifies the one drift issue per project and stack. */
export function driftMarker(project: string, stack: string): string {
  return `<!-- people-register-drift:${project}/${stack} -->`;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderDriftMarkdown(report: DriftReport, project: string): string {
  const lines = [driftMarker(project, report.stack), `### Drift on \`${project}/${report.stack}\``, ""];
  if (!report.drifted.length) lines.push(`No drift: the ${report.checked} resources match the state (checked ${report.checked_at}).`);
  else {
    lines.push(`**${report.drifted.length}** of ${report.checked} resources changed outside Pulumi (checked ${report.checked_at}):`, "", "| Resource | Type | Drift | Properties |", "| --- | --- | --- | --- |");
    for (const d of report.drifted) lines.push(`| \`${cell(d.name)}\` | \`${cell(d.type)}\` | ${d.kind} | ${d.properties.map((p) => `\`${cell(p)}\``).join(", ") || "—"} |`);
    lines.push("", `Reconcile: \`pulumi up --stack ${report.stack}\` puts back what the program says; \`pulumi refresh --stack ${report.stack}\` accepts the cloud's values into the state (then change the program to match).`);
  }
  if (report.errors.length) lines.push("", "> ⚠️ The refresh reported errors, so the check may be incomplete:", ...report.errors.map((e) => `> - ${cell(e)}`));
  return `${lines.join("\n")}\n`;
}
