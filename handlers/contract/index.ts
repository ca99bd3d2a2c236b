// The data model and the routes of the People Register API: the single source of truth.
export * from "./tables";
export * from "./routes";
export * from "./env";
export * from "./integrated";
