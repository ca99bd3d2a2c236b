// The structured diff of a preview (or an update), built from the engine's own events, and its Markdown
// rendering for PR comments and job summaries. Pure: events in, data and text out.
import type { DiagnosticEvent, EngineEvent, OpMap, OpType, PolicyEvent, PropertyDiff } from "./events";

/** One resource the run changes, with the engine's replace/delete steps collapsed into one row. */
export interface ResourceChange {
  op: OpType;
  urn: string;
  /** The resource's logical name (the last URN segment). */
  name: string;
  type: string;
  /** Changed properties: `detailedDiff` keys when the provider gave them, else `diffs`. */
  properties: PropertyChange[];
  /** Properties whose change forces a replacement (`keys`, plus `*-replace` kinds). */
  replaceKeys: string[];
  /** A replacement or a deletion: the resource (and its data) goes away. */
  destructive: boolean;
  protect: boolean;
}

export interface PropertyChange {
  path: string;
  /** `add`, `update`, `delete`, their `-replace` variants, or `changed` when only `diffs` was given. */
  kind: string;
}

export interface DiagnosticEntry {
  severity: DiagnosticEvent["severity"];
  urn?: string;
  message: string;
}

export interface PolicyViolation {
  policyPack: string;
  policyName: string;
  enforcementLevel: PolicyEvent["enforcementLevel"];
  urn?: string;
  message: string;
}

export interface ResourceFailure {
  urn: string;
  type: string;
  op: OpType;
}

export interface PreviewDiff {
  /** Resources with an operation other than `same`, most dangerous first. */
  changes: ResourceChange[];
  /** Operation → count over every resource, `same` included. */
  counts: OpMap;
  diagnostics: DiagnosticEntry[];
  policies: PolicyViolation[];
  /** Resources whose step failed (only during an update). */
  failures: ResourceFailure[];
  /** The engine's own summary (`summaryEvent.resourceChanges`), when it arrived. */
  engineSummary?: OpMap;
  /** The engine says the state may be inconsistent (an interrupted update). */
  maybeCorrupt: boolean;
}

/** Operations shown in counts, in display order. */
const OP_ORDER: OpType[] = ["delete", "replace", "update", "create", "import", "read", "refresh", "discard", "same"];
const OP_LABEL: Partial<Record<OpType, string>> = {
  create: "to create",
  update: "to update",
  replace: "to replace",
  delete: "to delete",
  import: "to import",
  read: "to read",
  refresh: "to refresh",
  discard: "to discard",
  same: "unchanged",
};
const OP_ICON: Partial<Record<OpType, string>> = { create: "🟢", update: "🟡", replace: "🟣", delete: "🔴", import: "🔵", same: "⚪" };

/** The engine emits three steps for one replacement; they are one row here. */
const COLLAPSE: Partial<Record<OpType, OpType>> = {
  "create-replacement": "replace",
  "delete-replaced": "replace",
  "discard-replaced": "discard",
  "read-replacement": "read",
  "import-replacement": "import",
  "remove-pending-replace": "replace",
};
const RANK: Partial<Record<OpType, number>> = { delete: 0, replace: 1, update: 2, create: 3, import: 4, read: 5, refresh: 6, discard: 7, same: 9 };

/** The name in a URN: `urn:pulumi:<stack>::<project>::<type chain>::<name>`. */
export function urnName(urn: string): string {
  const at = urn.lastIndexOf("::");
  return at === -1 ? urn : urn.slice(at + 2);
}

/** Resources that are bookkeeping, not infrastructure: the stack itself and default providers. */
function isBookkeeping(type: string, urn: string): boolean {
  return type === "pulumi:pulumi:Stack" || (type.startsWith("pulumi:providers:") && urnName(urn).startsWith("default"));
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]|<\{%(?:reset|bold|fg \d+)%\}>/g;
/** Engine messages may carry colour codes (ANSI, or Pulumi's own `<{%fg 1%}>` tags when color is raw). */
export function stripColor(text: string): string {
  return text.replace(ANSI, "");
}

export function buildPreviewDiff(events: readonly EngineEvent[]): PreviewDiff {
  const byUrn = new Map<string, ResourceChange>();
  const order: string[] = [];
  const diagnostics: DiagnosticEntry[] = [];
  const policies: PolicyViolation[] = [];
  const failures: ResourceFailure[] = [];
  let engineSummary: OpMap | undefined;
  let maybeCorrupt = false;

  for (const event of events) {
    if (event.resourcePreEvent) {
      const m = event.resourcePreEvent.metadata;
      if (isBookkeeping(m.type, m.urn)) continue;
      const op = COLLAPSE[m.op] ?? m.op;
      const properties = propertyChanges(m.detailedDiff, m.diffs);
      const replaceKeys = new Set([...(m.keys ?? []), ...properties.filter((p) => p.kind.endsWith("-replace")).map((p) => p.path)]);
      const existing = byUrn.get(m.urn);
      if (!existing) {
        order.push(m.urn);
        byUrn.set(m.urn, {
          op,
          urn: m.urn,
          name: urnName(m.urn),
          type: m.type,
          properties,
          replaceKeys: [...replaceKeys],
          destructive: op === "delete" || op === "replace",
          protect: Boolean(m.old?.protect ?? m.new?.protect),
        });
      } else {
        // A later step of the same resource: keep the stronger operation and every property seen.
        if ((RANK[op] ?? 8) < (RANK[existing.op] ?? 8)) existing.op = op;
        existing.destructive ||= op === "delete" || op === "replace";
        existing.protect ||= Boolean(m.old?.protect ?? m.new?.protect);
        for (const p of properties) if (!existing.properties.some((q) => q.path === p.path)) existing.properties.push(p);
        for (const k of replaceKeys) if (!existing.replaceKeys.includes(k)) existing.replaceKeys.push(k);
      }
    } else if (event.diagnosticEvent) {
      const d = event.diagnosticEvent;
      if (d.ephemeral) continue;
      const message = stripColor(d.message).trim();
      if (message) diagnostics.push({ severity: d.severity, ...(d.urn ? { urn: d.urn } : {}), message });
    } else if (event.policyEvent) {
      const p = event.policyEvent;
      policies.push({
        policyPack: p.policyPackName,
        policyName: p.policyName,
        enforcementLevel: p.enforcementLevel,
        ...(p.resourceUrn ? { urn: p.resourceUrn } : {}),
        message: stripColor(p.message).trim(),
      });
    } else if (event.resOpFailedEvent) {
      const m = event.resOpFailedEvent.metadata;
      failures.push({ urn: m.urn, type: m.type, op: COLLAPSE[m.op] ?? m.op });
    } else if (event.summaryEvent) {
      engineSummary = { ...event.summaryEvent.resourceChanges };
      maybeCorrupt = event.summaryEvent.maybeCorrupt;
    }
  }

  const all = order.map((urn) => byUrn.get(urn)!);
  const counts: OpMap = {};
  for (const c of all) counts[c.op] = (counts[c.op] ?? 0) + 1;
  const changes = all
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.op !== "same")
    .sort((a, b) => (RANK[a.c.op] ?? 8) - (RANK[b.c.op] ?? 8) || a.i - b.i)
    .map(({ c }) => c);
  return { changes, counts, diagnostics, policies, failures, ...(engineSummary ? { engineSummary } : {}), maybeCorrupt };
}

function propertyChanges(detailed: Record<string, PropertyDiff> | undefined, diffs: string[] | undefined): PropertyChange[] {
  if (detailed && Object.keys(detailed).length > 0) {
    return Object.entries(detailed).map(([path, d]) => ({ path, kind: String(d.diffKind) }));
  }
  return (diffs ?? []).map((path) => ({ path, kind: "changed" }));
}

/** Shown when the API function changes runtime: TypeScript and the synced app issue different tokens. */
export const HANDLER_SWITCH_NOTICE = "> ⚠️ The API switches handler kind (enhanced ↔ integrated): every session ends and signed-in users sign in again (the two issue different tokens).";

/** The `api` function changes its runtime or package type: the handler kind switches. */
export function switchesHandlerKind(diff: PreviewDiff): boolean {
  return diff.changes.some((c) => c.type === "aws:lambda/function:Function" && c.name === "api" && c.properties.some((p) => p.path === "runtime" || p.path === "packageType"));
}

/** Counts as a sentence, e.g. `1 to delete · 2 to create · 14 unchanged`. */
export function countsLine(counts: OpMap): string {
  const ops = [...OP_ORDER, ...(Object.keys(counts) as OpType[]).filter((op) => !OP_ORDER.includes(op))];
  const parts = ops.filter((op) => (counts[op] ?? 0) > 0).map((op) => `${counts[op]} ${OP_LABEL[op] ?? op}`);
  return parts.length ? parts.join(" · ") : "no resources";
}

// ---- Markdown ----

/** GitHub rejects comments over 65,536 characters; stay well under it. */
export const COMMENT_CAP = 60_000;

/** The hidden line that identifies this project's and stack's comment among a PR's comments. */
export function previewMarker(project: string, stack: string): string {
  return `<!-- people-register-preview:${project}/${stack} -->`;
}

export interface RenderOptions {
  project: string;
  stack: string;
  /** Heading word: "Preview" for previews, "Update" for a deployment's changes. */
  title?: string;
  /** Shown under the heading, e.g. `for commit abc1234`. */
  context?: string;
  /** Character cap (default COMMENT_CAP). */
  cap?: number;
  /** Lines that must be kept (e.g. the destructive-change guard's verdict), shown after the counts. */
  notices?: string[];
}

const MAX_PROPS_PER_ROW = 12;
const MAX_MESSAGE = 2_000;

/** Inline code that is safe inside a table cell: no backticks, pipes escaped, one line. */
function code(text: string): string {
  const clean = text.replace(/`/g, "'").replace(/[\r\n]+/g, " ").replace(/\|/g, "\\|");
  return `\`${clean}\``;
}

/** Text for a fenced block: fences inside cannot close it. */
function fenced(text: string): string {
  const clipped = text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}… (${text.length - MAX_MESSAGE} more characters)` : text;
  return ["```text", clipped.replace(/```/g, "'''"), "```"].join("\n");
}

function propertiesCell(c: ResourceChange): string {
  if (c.op === "delete") return "";
  const shown = c.properties.slice(0, MAX_PROPS_PER_ROW).map((p) => {
    const forces = c.replaceKeys.includes(p.path) || p.kind.endsWith("-replace");
    return `${code(p.path)}${forces ? " ⚠ forces replacement" : p.kind !== "update" && p.kind !== "changed" ? ` (${p.kind})` : ""}`;
  });
  for (const k of c.replaceKeys) if (!c.properties.some((p) => p.path === k) && shown.length < MAX_PROPS_PER_ROW) shown.push(`${code(k)} ⚠ forces replacement`);
  const more = c.properties.length - MAX_PROPS_PER_ROW;
  return shown.join(", ") + (more > 0 ? `, … ${more} more` : "");
}

function row(c: ResourceChange): string {
  const op = `${OP_ICON[c.op] ?? "•"} ${c.op}${c.protect && c.destructive ? " (protected)" : ""}`;
  return `| ${op} | ${code(c.name)} | ${code(c.type)} | ${propertiesCell(c)} |`;
}

/**
 * The Markdown for a PR comment or job summary. The marker, heading, counts and notices are always
 * kept; the table, policy violations and diagnostics are cut, with a note, to fit under `cap`.
 */
export function renderPreviewMarkdown(diff: PreviewDiff, opts: RenderOptions): string {
  const cap = opts.cap ?? COMMENT_CAP;
  const head: string[] = [
    previewMarker(opts.project, opts.stack),
    `### Pulumi ${opts.title ?? "preview"}: ${code(`${opts.project}/${opts.stack}`)}${opts.context ? ` ${opts.context}` : ""}`,
    "",
    `**${countsLine(diff.counts)}**`,
  ];
  const destructive = diff.changes.filter((c) => c.destructive);
  if (destructive.length) head.push("", `> ⚠️ ${destructive.length} resource${destructive.length === 1 ? "" : "s"} will be replaced or deleted.`);
  const mandatory = diff.policies.filter((p) => p.enforcementLevel === "mandatory").length;
  if (mandatory) head.push("", `> ⛔ ${mandatory} mandatory policy violation${mandatory === 1 ? "" : "s"}.`);
  const errors = diff.diagnostics.filter((d) => d.severity === "error").length;
  if (errors) head.push("", `> ⛔ ${errors} error${errors === 1 ? "" : "s"} reported by the engine.`);
  if (diff.maybeCorrupt) head.push("", "> ⚠️ The engine reports the stack state may be inconsistent.");
  if (switchesHandlerKind(diff)) head.push("", HANDLER_SWITCH_NOTICE);
  for (const notice of opts.notices ?? []) head.push("", notice);

  // Sections in priority order; each is rendered whole when it fits, else cut at a line boundary.
  const sections: Array<{ open: string; lines: string[]; close: string; unit: string }> = [];
  if (diff.changes.length) {
    sections.push({
      open: ["", "", `<details${diff.changes.length <= 25 ? " open" : ""}><summary>${diff.changes.length} resource change${diff.changes.length === 1 ? "" : "s"}</summary>`, "", "| Operation | Resource | Type | Changed properties |", "|---|---|---|---|"].join("\n"),
      lines: diff.changes.map(row),
      close: "\n\n</details>",
      unit: "changes",
    });
  }
  if (diff.policies.length) {
    sections.push({
      open: ["", "", `<details open><summary>Policy violations (${diff.policies.length})</summary>`, ""].join("\n"),
      lines: diff.policies.map(
        (p) => `- **${p.enforcementLevel}** ${code(`${p.policyPack}/${p.policyName}`)}${p.urn ? ` on ${code(urnName(p.urn))}` : ""}\n\n${fenced(p.message)}\n`,
      ),
      close: "\n\n</details>",
      unit: "violations",
    });
  }
  if (diff.diagnostics.length) {
    const sorted = [...diff.diagnostics].sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
    sections.push({
      open: ["", "", `<details><summary>Diagnostics (${diff.diagnostics.length})</summary>`, ""].join("\n"),
      lines: sorted.map((d) => `- **${d.severity}**${d.urn ? ` ${code(urnName(d.urn))}` : ""}\n\n${fenced(d.message)}\n`),
      close: "\n\n</details>",
      unit: "diagnostics",
    });
  }
  if (!diff.changes.length && !diff.policies.length && !diff.diagnostics.length) head.push("", "No changes.");

  let out = head.join("\n");
  const truncationNote = (n: number, unit: string) => `\n\n_… ${n} more ${unit} not shown: the comment is capped at ${cap.toLocaleString("en-US")} characters. The full list is in the job log._`;
  const reserve = 400; // room for the closing tags and truncation notes of later sections
  for (const s of sections) {
    const budget = cap - out.length - reserve;
    if (budget <= s.open.length + s.close.length) {
      out += truncationNote(s.lines.length, s.unit);
      continue;
    }
    let body = "";
    let shown = 0;
    for (const line of s.lines) {
      if (s.open.length + body.length + line.length + 1 + s.close.length > budget) break;
      body += `\n${line}`;
      shown++;
    }
    out += s.open + body + (shown < s.lines.length ? truncationNote(s.lines.length - shown, s.unit).replace(/^\n\n/, "\n\n") : "") + s.close;
  }
  return `${out}\n`;
}

function severityRank(s: DiagnosticEntry["severity"]): number {
  return s === "error" ? 0 : s === "warning" ? 1 : 2;
}
