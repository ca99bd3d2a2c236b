// The engine's event and change types (from `@pulumi/pulumi/automation`, types only): one module, so
// the engine module and what renders its results (diff, drift) share them without importing each other.
export type {
  DiagnosticEvent,
  EngineEvent,
  OpMap,
  OpType,
  PolicyEvent,
  PropertyDiff,
  StepEventMetadata,
} from "@pulumi/pulumi/automation";
