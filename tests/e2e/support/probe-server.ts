// A small real HTTP server on 127.0.0.1 that answers the smoke probes the way the contract says
// (health, auth wall, CORS, CSRF + validation, 404, login and people CRUD in memory), and that
// can be broken on purpose per route: slow answers, 500s, wrong bodies, a dropped connection.
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string>; times?: number }
  | { kind: "slow"; delayMs: number; times?: number }
  | { kind: "body"; body: unknown; times?: number }
  | { kind: "hangup"; times?: number };

export interface ProbeServer {
  url: string;
  port: number;
  /** Requests seen per `METHOD /path`. */
  hits: Map<string, number>;
  /** Break a route (`METHOD /path`, ids as `/people/:id`, a trailing `*` matches a prefix); `times` limits how often, then it recovers. */
  fault(route: string, fault: Fault): void;
  people: Map<string, Record<string, unknown>>;
  sessions: Set<string>;
  close(): Promise<void>;
}

export const ADMIN = { email: "admin@example.test", password: "Admin-Pass-123!" };

export async function startProbeServer(opts: { allowedOrigin?: string } = {}): Promise<ProbeServer> {
  const hits = new Map<string, number>();
  const faults = new Map<string, Fault>();
  const people = new Map<string, Record<string, unknown>>();
  const sessions = new Set<string>();
  const csrfTokens = new Set<string>();
  const sockets = new Set<import("node:net").Socket>();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const pathname = url.pathname;
    const route = `${req.method} ${pathname.replace(/^\/people\/[^/]+$/, "/people/:id")}`;
    hits.set(route, (hits.get(route) ?? 0) + 1);
    let body = "";
    for await (const chunk of req) body += chunk;

    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(payload === undefined ? "" : JSON.stringify(payload));
    };

    const key = faults.has(route) ? route : [...faults.keys()].find((k) => k.endsWith("*") && route.startsWith(k.slice(0, -1)));
    const fault = key ? faults.get(key) : undefined;
    if (key && fault) {
      if (fault.times !== undefined && --fault.times <= 0) faults.delete(key);
      if (fault.kind === "status") return send(fault.status, fault.body ?? { error: "broken on purpose" }, fault.headers);
      if (fault.kind === "body") return send(200, fault.body);
      if (fault.kind === "hangup") return req.socket.destroy();
      if (fault.kind === "slow") await new Promise((r) => setTimeout(r, fault.delayMs));
      if (res.destroyed) return;
    }

    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const authed = bearer !== undefined && sessions.has(bearer);
    let json: Record<string, unknown> = {};
    try {
      json = body ? JSON.parse(body) : {};
    } catch {
      return send(400, { error: "Malformed JSON", code: "INVALID_JSON" });
    }

    if (req.method === "OPTIONS" && pathname === "/people") {
      const origin = req.headers.origin;
      const headers: Record<string, string> = { "access-control-allow-methods": "GET,POST,OPTIONS" };
      if (origin && origin === opts.allowedOrigin) headers["access-control-allow-origin"] = origin;
      res.writeHead(204, headers);
      return res.end();
    }
    if (req.method === "GET" && pathname === "/health") return send(200, { status: "healthy", checks: { database: "ok" } });
    if (req.method === "GET" && pathname === "/auth/csrf-token") {
      const token = randomUUID();
      csrfTokens.add(token);
      return send(200, { csrfToken: token, expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    }
    if (req.method === "POST" && pathname === "/auth/login") {
      if (json.email !== ADMIN.email || json.password !== ADMIN.password) return send(401, { error: "Invalid credentials", code: "INVALID_CREDENTIALS" });
      const token = randomUUID();
      sessions.add(token);
      return send(200, { success: true, accessToken: token });
    }
    if (req.method === "POST" && pathname === "/auth/logout") {
      if (!authed) return send(401, { error: "Unauthorized" });
      sessions.delete(bearer);
      return send(200, { success: true });
    }
    if (req.method === "GET" && pathname === "/auth/me") return authed ? send(200, { success: true, user: { email: ADMIN.email } }) : send(401, { error: "Unauthorized" });
    if (pathname === "/people") {
      if (req.method === "GET") return authed ? send(200, [...people.values()]) : send(401, { error: "Unauthorized" });
      if (req.method === "POST") {
        const csrf = req.headers["x-csrf-token"];
        if (typeof csrf !== "string" || !csrfTokens.delete(csrf)) return send(403, { error: "Invalid CSRF token", code: "CSRF_INVALID" });
        const valid = typeof json.firstName === "string" && json.firstName && typeof json.email === "string" && json.email.includes("@") && json.isAdmin === undefined;
        if (!valid) return send(400, { error: "Validation failed", code: "VALIDATION_ERROR" });
        const person = { id: randomUUID(), firstName: json.firstName, lastName: json.lastName, email: json.email, version: 1 };
        people.set(person.id, person);
        return send(201, person);
      }
    }
    const personId = /^\/people\/([^/]+)$/.exec(pathname)?.[1];
    if (personId && ["GET", "PUT", "DELETE"].includes(req.method ?? "")) {
      if (!authed) return send(401, { error: "Unauthorized" });
      const person = people.get(personId);
      if (!person) return send(404, { error: "Not found", code: "NOT_FOUND" });
      if (req.method === "GET") return send(200, person);
      if (req.method === "DELETE") {
        people.delete(personId);
        res.writeHead(204);
        return res.end();
      }
      if (json.version !== person.version) return send(409, { error: "Version mismatch", code: "CONFLICT" });
      const updated = { ...person, ...json, version: (person.version as number) + 1 };
      people.set(personId, updated);
      return send(200, updated);
    }
    return send(404, { error: "Not found", code: "NOT_FOUND" });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    people,
    sessions,
    fault: (route, fault) => faults.set(route, { ...fault }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function refusingPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
