// The requirements merge: the synced API's Python dependencies + what the integrated shim needs.
// A real PEP 508 reader (names normalised per PEP 503, extras, specifiers, markers, URLs), tolerant
// of the way uv and pip-compile export files (comments, `# via` lines, `\` continuations, `--hash`),
// following `-r` includes inside the source only. One line per package; the API's pin wins.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseToml } from "smol-toml";

export interface Requirement {
  /** PEP 503 normalised name: lower case, runs of `-`, `_`, `.` become one `-`. */
  name: string;
  extras: string[];
  /** Version specifiers joined by commas (`>=1.0,<2`), or "" when any version does. */
  specifier: string;
  /** `name @ url` direct reference, or null. */
  url: string | null;
  marker: string | null;
  /** Where it was read: a file relative to the source root, and its first line (1-based; 0 when unknown). */
  file: string;
  line: number;
  hashes: number;
}

export interface RequirementError {
  file: string;
  line: number;
  text: string;
  message: string;
}

/** What one side of the merge brings: the requirements read and the problems found reading them. */
export interface RequirementSet {
  /** The file the set was read from (relative to its root), or null when there is none. */
  source: string | null;
  requirements: Requirement[];
  errors: RequirementError[];
  /** Things worth telling the user that are not errors (ignored pip options, removed hashes). */
  notes: string[];
}

export interface MergeReport {
  /** The API's requirements file that was merged (null when the API has none). */
  source: string | null;
  /** API requirements kept (names). */
  kept: string[];
  /** Shim requirements the API did not have (names). */
  added: string[];
  /** Both sides name the package with different requirements: the API's wins. */
  conflicts: Array<{ name: string; api: string; shim: string }>;
  /** Development and test tools left out of the Lambda package (names). */
  dropped: string[];
  errors: RequirementError[];
  notes: string[];
}

/** The API's requirement files, most specific first. */
export const API_REQUIREMENT_FILES = ["requirements-lambda.txt", "requirements.txt", "pyproject.toml"] as const;

/**
 * Development and test tools: never shipped in a Lambda package. One list; a name matches when it
 * equals an entry or starts with an entry that ends in `-` (plugin families).
 */
export const DEV_TOOLS: readonly string[] = [
  "pytest", "pytest-", "moto", "coverage", "black", "ruff", "mypy", "flake8", "flake8-", "isort", "pre-commit",
  "tox", "nox", "pylint", "bandit", "hypothesis", "freezegun", "faker", "factory-boy", "responses", "respx",
  "ipython", "ipdb", "debugpy", "pip-tools", "pyright", "autopep8", "yapf", "types-", "mypy-boto3-", "boto3-stubs",
  "locust", "safety", "pip-audit", "commitizen",
];

export function isDevTool(name: string): boolean {
  const n = normalizeName(name);
  return DEV_TOOLS.some((tool) => (tool.endsWith("-") ? n.startsWith(tool) : n === tool));
}

/** PEP 503 name normalisation. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

// ---------------------------------------------------------------- PEP 508 lines

const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/;
const SPEC_CLAUSE = /^(~=|===|==|!=|<=|>=|<|>)\s*([A-Za-z0-9_.*+!-]+)$/;
const MARKER_VARIABLES = new Set([
  "python_version", "python_full_version", "os_name", "sys_platform", "platform_release", "platform_system",
  "platform_version", "platform_machine", "platform_python_implementation", "implementation_name",
  "implementation_version", "extra", "os.name", "sys.platform", "platform.version", "platform.machine",
  "platform.python_implementation", "python_implementation",
]);

export class RequirementSyntaxError extends Error {}

/** Parse one PEP 508 requirement (no comments, no pip options). Throws RequirementSyntaxError. */
export function parseRequirement(text: string, file = "", line = 0): Requirement {
  let rest = text.trim();
  const nameMatch = NAME.exec(rest);
  if (!nameMatch) throw new RequirementSyntaxError("expected a package name");
  const name = normalizeName(nameMatch[1]!);
  rest = rest.slice(nameMatch[0].length).trimStart();

  let extras: string[] = [];
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw new RequirementSyntaxError("unclosed '[' in extras");
    const inner = rest.slice(1, close).trim();
    extras = inner === "" ? [] : inner.split(",").map((e) => e.trim());
    for (const e of extras) if (!NAME.test(e) || NAME.exec(e)![0] !== e) throw new RequirementSyntaxError(`invalid extra "${e}"`);
    extras = [...new Set(extras.map(normalizeName))].sort();
    rest = rest.slice(close + 1).trimStart();
  }

  let url: string | null = null;
  let specifier = "";
  let marker: string | null = null;
  if (rest.startsWith("@")) {
    // Direct reference: the URL ends at whitespace; a marker must then follow "; " (PEP 508).
    const m = /^@\s*(\S+)(?:\s+;\s*(.*))?$/.exec(rest);
    if (!m) throw new RequirementSyntaxError("a URL requirement needs a space before ';' and its marker");
    url = m[1]!;
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) throw new RequirementSyntaxError(`"${url}" is not a URL`);
    marker = m[2] !== undefined ? validateMarker(m[2]) : null;
  } else {
    const semi = rest.indexOf(";");
    let specText = semi >= 0 ? rest.slice(0, semi) : rest;
    if (semi >= 0) marker = validateMarker(rest.slice(semi + 1));
    specText = specText.trim();
    if (specText.startsWith("(")) {
      if (!specText.endsWith(")")) throw new RequirementSyntaxError("unclosed '(' in version specifier");
      specText = specText.slice(1, -1).trim();
    }
    if (specText !== "") {
      const clauses = specText.split(",").map((c) => c.trim());
      for (const c of clauses) {
        const m = SPEC_CLAUSE.exec(c);
        if (!m) throw new RequirementSyntaxError(`invalid version specifier "${c}"`);
        if (m[2]!.includes("*") && m[1] !== "==" && m[1] !== "!=") throw new RequirementSyntaxError(`"*" is only allowed with == and != ("${c}")`);
      }
      specifier = clauses.map((c) => c.replace(/\s+/g, "")).join(",");
    }
  }
  return { name, extras, specifier, url, marker, file, line, hashes: 0 };
}

/** Check an environment marker's grammar; returns it with whitespace normalised. */
function validateMarker(text: string): string {
  const tokens: string[] = [];
  const re = /\s*(\(|\)|'[^']*'|"[^"]*"|===|==|!=|<=|>=|~=|<|>|[A-Za-z_][A-Za-z0-9_.]*)/y;
  let pos = 0;
  const src = text.trim();
  while (pos < src.length) {
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new RequirementSyntaxError(`invalid environment marker near "${src.slice(pos, pos + 20)}"`);
    tokens.push(m[1]!);
    pos = re.lastIndex;
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
  }
  if (tokens.length === 0) throw new RequirementSyntaxError("empty environment marker after ';'");
  // marker := and_expr ('or' and_expr)*; and_expr := atom ('and' atom)*; atom := '(' marker ')' | value op value
  let i = 0;
  const isValue = (t: string | undefined) => t !== undefined && (/^['"]/.test(t) || MARKER_VARIABLES.has(t));
  const fail = (why: string): never => {
    throw new RequirementSyntaxError(`invalid environment marker "${src}": ${why}`);
  };
  const atom = (): void => {
    if (tokens[i] === "(") {
      i++;
      expr();
      if (tokens[i] !== ")") fail("missing ')'");
      i++;
      return;
    }
    if (!isValue(tokens[i])) fail(`unknown marker variable "${tokens[i] ?? ""}"`);
    i++;
    const op = tokens[i];
    if (op === "not" && tokens[i + 1] === "in") i += 2;
    else if (op !== undefined && /^(===|==|!=|<=|>=|~=|<|>|in)$/.test(op)) i++;
    else fail(`expected a comparison after "${tokens[i - 1]}"`);
    if (!isValue(tokens[i])) fail(`unknown marker value "${tokens[i] ?? ""}"`);
    i++;
  };
  const expr = (): void => {
    atom();
    while (tokens[i] === "and" || tokens[i] === "or") {
      i++;
      atom();
    }
  };
  expr();
  if (i !== tokens.length) fail(`unexpected "${tokens[i]}"`);
  return tokens.join(" ").replace(/\( /g, "(").replace(/ \)/g, ")");
}

/** A requirement as one line of a requirements file. */
export function formatRequirement(r: Requirement): string {
  const extras = r.extras.length ? `[${r.extras.join(",")}]` : "";
  if (r.url) return `${r.name}${extras} @ ${r.url}${r.marker ? ` ; ${r.marker}` : ""}`;
  return `${r.name}${extras}${r.specifier}${r.marker ? ` ; ${r.marker}` : ""}`;
}

// ---------------------------------------------------------------- requirements files

/** pip options that select indexes or build modes: the driver decides those (--pip-find-links, PIP_INDEX_URL). */
const IGNORED_GLOBAL_OPTIONS = /^(-i|--index-url|--extra-index-url|-f|--find-links|--trusted-host|--pre|--prefer-binary|--no-binary|--only-binary|--no-index|--use-feature)(=|\s|$)/;

interface ReadContext {
  root: string;
  rootReal: string;
  stack: string[];
  set: RequirementSet;
}

/**
 * Read a requirements file and its `-r` includes. `root` bounds the includes: a file outside it (or a
 * URL) is refused, so a synced repository cannot make the driver read arbitrary files.
 */
export function readRequirementsFile(file: string, root: string = path.dirname(file)): RequirementSet {
  const rootReal = fs.realpathSync(root);
  const set: RequirementSet = { source: relTo(root, file), requirements: [], errors: [], notes: [] };
  readInto(path.resolve(file), { root, rootReal, stack: [], set });
  return set;
}

function relTo(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join("/");
}

function readInto(file: string, ctx: ReadContext, from?: { file: string; line: number; text: string }): void {
  const rel = relTo(ctx.root, file);
  const refuse = (message: string) => {
    if (from) ctx.set.errors.push({ ...from, message });
    else ctx.set.errors.push({ file: rel, line: 0, text: "", message });
  };
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return refuse(`${rel} does not exist`);
  }
  if (real !== ctx.rootReal && !real.startsWith(ctx.rootReal + path.sep)) return refuse(`${rel} is outside the source`);
  if (ctx.stack.includes(real)) return refuse(`include cycle: ${[...ctx.stack, real].map((f) => relTo(ctx.rootReal, f)).join(" -> ")}`);
  ctx.stack.push(real);
  try {
    const physical = fs.readFileSync(real, "utf8").replace(/^\uFEFF/, "").split(/\r?\n/);
    for (let i = 0; i < physical.length; i++) {
      const lineNo = i + 1;
      // Join `\` continuations (uv puts each --hash on its own continued line).
      let logical = physical[i]!;
      while (/\\\s*$/.test(stripComment(logical)) && i + 1 < physical.length) {
        logical = stripComment(logical).replace(/\\\s*$/, " ") + physical[++i]!;
      }
      const text = stripComment(logical).trim();
      if (text === "") continue;
      handleLine(text, rel, lineNo, path.dirname(real), ctx);
    }
  } finally {
    ctx.stack.pop();
  }
}

/** pip's rule: `#` starts a comment at the line start or after whitespace (not `#egg=` in a URL). */
function stripComment(line: string): string {
  return line.replace(/(^|\s)#.*$/, "");
}

function handleLine(text: string, file: string, line: number, dir: string, ctx: ReadContext): void {
  const error = (message: string): void => {
    ctx.set.errors.push({ file, line, text, message });
  };
  const include = /^(?:-r|--requirement)(?:\s*=\s*|\s+|(?=[^\s-]))(\S+)$/.exec(text);
  if (include) {
    const target = include[1]!;
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(target)) return error("remote includes are not fetched");
    readInto(path.resolve(dir, target), ctx, { file, line, text });
    return;
  }
  if (/^(-c|--constraint)\b/.test(text)) return error("constraints files are not supported; pin the versions in the requirements file");
  if (/^(-e|--editable)(\s+|=)(\.|file:\.)\/?$/.test(text)) {
    // uv exports the project itself this way; its code is what the sync copies (main.py, src/).
    ctx.set.notes.push(`${file}:${line}: "${text}" (the project itself) skipped: its code is synced as main.py and src/`);
    return;
  }
  if (/^(-e|--editable)\b/.test(text)) return error("editable installs cannot be packaged for Lambda");
  if (IGNORED_GLOBAL_OPTIONS.test(text)) {
    ctx.set.notes.push(`${file}:${line}: "${text}" ignored (indexes are chosen by the driver: --pip-find-links, PIP_INDEX_URL)`);
    return;
  }
  if (text.startsWith("-")) return error(`unsupported pip option "${text.split(/\s/)[0]}"`);
  // Per-requirement options (uv: `--hash=sha256:…`) follow the requirement after whitespace.
  const parts = text.split(/\s+(?=--)/);
  const reqText = parts[0]!;
  let hashes = 0;
  for (const opt of parts.slice(1)) {
    if (/^--hash[=\s]\S+$/.test(opt)) hashes++;
    else return error(`unsupported per-requirement option "${opt.split(/[=\s]/)[0]}"`);
  }
  if (/^(\.|\/|[A-Za-z]:\\)/.test(reqText) || /\.(whl|zip|tar\.gz)$/.test(reqText)) return error("local paths and archives cannot be packaged; use a version or a URL");
  try {
    ctx.set.requirements.push({ ...parseRequirement(reqText, file, line), hashes });
  } catch (err) {
    if (!(err instanceof RequirementSyntaxError)) throw err;
    error(err.message);
  }
}

/** `[project] dependencies` of a pyproject.toml (PEP 621). */
export function readPyproject(file: string, root: string = path.dirname(file)): RequirementSet {
  const rel = relTo(root, file);
  const set: RequirementSet = { source: rel, requirements: [], errors: [], notes: [] };
  const text = fs.readFileSync(file, "utf8");
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const m = /line (\d+)/i.exec((err as Error).message);
    set.errors.push({ file: rel, line: m ? Number(m[1]) : 0, text: "", message: `invalid TOML: ${(err as Error).message.split("\n")[0]}` });
    return set;
  }
  const project = doc.project as Record<string, unknown> | undefined;
  const deps = project?.dependencies;
  if (deps === undefined) {
    if (project && Array.isArray(project.dynamic) && project.dynamic.includes("dependencies")) {
      set.errors.push({ file: rel, line: 0, text: "", message: "[project] dependencies are dynamic; export them (uv export > requirements-lambda.txt)" });
    } else {
      set.notes.push(`${rel} has no [project] dependencies`);
    }
    return set;
  }
  if (!Array.isArray(deps)) {
    set.errors.push({ file: rel, line: 0, text: String(deps), message: "[project] dependencies must be an array of strings" });
    return set;
  }
  const lines = text.split(/\r?\n/);
  for (const dep of deps) {
    const lineNo = typeof dep === "string" ? lines.findIndex((l) => l.includes(dep)) + 1 : 0;
    if (typeof dep !== "string") {
      set.errors.push({ file: rel, line: lineNo, text: String(dep), message: "dependency must be a string" });
      continue;
    }
    try {
      set.requirements.push(parseRequirement(dep, rel, lineNo));
    } catch (err) {
      if (!(err instanceof RequirementSyntaxError)) throw err;
      set.errors.push({ file: rel, line: lineNo, text: dep, message: err.message });
    }
  }
  return set;
}

/** The API's requirements: requirements-lambda.txt, else requirements.txt, else pyproject.toml, else none. */
export function readApiRequirements(sourceDir: string): RequirementSet {
  for (const name of API_REQUIREMENT_FILES) {
    const file = path.join(sourceDir, name);
    if (!fs.existsSync(file)) continue;
    return name === "pyproject.toml" ? readPyproject(file, sourceDir) : readRequirementsFile(file, sourceDir);
  }
  return { source: null, requirements: [], errors: [], notes: [`no ${API_REQUIREMENT_FILES.join(", ")} in the source`] };
}

/** What the integrated shim needs: handlers/integrated/requirements.txt. */
export function readShimRequirements(repoRoot: string): RequirementSet {
  const dir = path.join(repoRoot, "handlers", "integrated");
  return readRequirementsFile(path.join(dir, "requirements.txt"), dir);
}

// ---------------------------------------------------------------- merge

function sameRequirement(a: Requirement, b: Requirement): boolean {
  return formatRequirement(a) === formatRequirement(b);
}

/**
 * Merge the API's requirements with the shim's. One line per package (and environment marker): the
 * API's duplicates are combined (extras united, specifiers intersected, as pip does); a package both
 * sides name differently keeps the API's requirement and is reported; dev/test tools are dropped.
 * Hashes are removed: a hash-checked file cannot gain the shim's unhashed lines.
 */
export function mergeRequirements(input: { api: RequirementSet; shim: RequirementSet }): { lines: string[]; report: MergeReport } {
  const errors = [...input.api.errors, ...input.shim.errors];
  const notes = [...input.api.notes, ...input.shim.notes];
  const dropped: string[] = [];
  const apiByKey = new Map<string, Requirement>();
  for (const r of input.api.requirements) {
    if (isDevTool(r.name)) {
      if (!dropped.includes(r.name)) dropped.push(r.name);
      continue;
    }
    const key = `${r.name};${r.marker ?? ""}`;
    const prev = apiByKey.get(key);
    if (!prev) {
      apiByKey.set(key, { ...r });
      continue;
    }
    const combined = combine(prev, r);
    if ("error" in combined) errors.push({ file: r.file, line: r.line, text: formatRequirement(r), message: combined.error });
    else apiByKey.set(key, combined);
  }
  const api = [...apiByKey.values()];
  const apiNames = new Set(api.map((r) => r.name));
  const conflicts: MergeReport["conflicts"] = [];
  const added: Requirement[] = [];
  for (const s of input.shim.requirements) {
    if (!apiNames.has(s.name)) {
      if (!added.some((a) => a.name === s.name)) added.push(s);
      continue;
    }
    const mine = api.filter((r) => r.name === s.name);
    // A bare shim name ("mangum") is satisfied by any API requirement for it.
    const bare = s.specifier === "" && !s.url && s.extras.length === 0 && !s.marker;
    if (!bare && !mine.some((r) => sameRequirement(r, s))) {
      conflicts.push({ name: s.name, api: mine.map(formatRequirement).join(" | "), shim: formatRequirement(s) });
    }
  }
  if (api.some((r) => r.hashes > 0)) notes.push("--hash options were removed: the merged file adds the shim's requirements, which carry no hashes");
  const lines = [...api, ...added].map(formatRequirement);
  return {
    lines,
    report: {
      source: input.api.source,
      kept: [...new Set(api.map((r) => r.name))],
      added: added.map((r) => r.name),
      conflicts,
      dropped,
      errors,
      notes,
    },
  };
}

function combine(a: Requirement, b: Requirement): Requirement | { error: string } {
  if (a.url || b.url) {
    if (a.url === b.url) return { ...a, extras: [...new Set([...a.extras, ...b.extras])].sort() };
    return { error: `${a.name} is required twice with different sources (${a.file}:${a.line} and ${b.file}:${b.line})` };
  }
  const clauses = [...new Set([...a.specifier.split(","), ...b.specifier.split(",")].filter(Boolean))];
  const pins = new Set(clauses.filter((c) => c.startsWith("==")).map((c) => c.slice(2)));
  if (pins.size > 1) return { error: `${a.name} is pinned to different versions (${[...pins].join(" and ")}) at ${a.file}:${a.line} and ${b.file}:${b.line}` };
  return { ...a, extras: [...new Set([...a.extras, ...b.extras])].sort(), specifier: clauses.join(","), hashes: a.hashes + b.hashes };
}

/** The merged file's text, with a header saying where it came from. */
export function renderRequirements(lines: string[], report: MergeReport): string {
  const header = [
    "# Generated by the people-register driver (automation/requirements.ts): do not edit.",
    `# API requirements from: ${report.source ?? "(none)"}; shim requirements from handlers/integrated/requirements.txt`,
  ];
  return `${[...header, ...lines].join("\n")}\n`;
}

/** Read the API side from `sourceDir` and the shim side from the repository, and merge them. */
export function mergeForSource(sourceDir: string, repoRoot: string): { lines: string[]; report: MergeReport; text: string } {
  const merged = mergeRequirements({ api: readApiRequirements(sourceDir), shim: readShimRequirements(repoRoot) });
  return { ...merged, text: renderRequirements(merged.lines, merged.report) };
}

/** One line naming the first requirement problem (and how many more), for a failure message. */
export function describeErrors(errors: RequirementError[]): string {
  const first = errors[0];
  if (!first) return "";
  const where = first.line ? `${first.file}:${first.line}` : first.file;
  return `${where}: ${first.message}${first.text ? ` ("${first.text}")` : ""}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`;
}
