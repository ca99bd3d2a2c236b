// Checking a request against a schema, and the UUID v4 id check, without evaluating zod: the
// pipeline needs these on every request, while the schemas (zod/mini, lib/validation.ts) are built
// only by the route modules that use them. zod is imported here for its types only.
import type * as z from "zod/mini";
import { type ErrorDetail, HttpError } from "./http";

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
export const isUuidV4 = (value: string): boolean => UUID_V4.test(value);

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return "Unknown field";
    case "invalid_type":
      return `Expected ${issue.expected}`;
    case "too_small":
      return issue.origin === "string" ? `Must be at least ${issue.minimum} characters` : `Must be at least ${issue.minimum}`;
    case "too_big":
      return issue.origin === "string" ? `Must be at most ${issue.maximum} characters` : `Must be at most ${issue.maximum}`;
    case "invalid_format":
      return `Must be a valid ${issue.format}`;
    case "invalid_value":
      return `Must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return issue.message && issue.message !== "Invalid input" ? issue.message : "Invalid value";
  }
}

export function issuesToDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) details.push({ field: base ? `${base}.${key}` : key, code: "unknown_field", message: "Unknown field" });
    } else {
      details.push({ field: base || "body", code: issue.code, message: describe(issue) });
    }
  }
  return details;
}

/** Parse or throw 400 VALIDATION_ERROR with one detail per problem. */
export function validate<T extends z.ZodMiniType>(schema: T, value: unknown, what = "Request body"): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, "VALIDATION_ERROR", `${what} is invalid`, issuesToDetails(result.error.issues));
  return result.data;
}
