// The zod/mini functions the handlers' schemas use, in one module: the bundler ships it as its own
// file beside index.js (automation/shared/build.ts, LAZY_CHUNKS), loaded with the first schema, so a cold
// start does not parse zod. Schemas import `* as z from "./zod"`; add a name here to use it.
export { boolean, email, enum, gte, int, iso, literal, lte, maxLength, minLength, nullable, number, optional, refine, regex, strictObject, string, union } from "zod/mini";
export type { infer, ZodMiniType } from "zod/mini";
