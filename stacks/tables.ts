// DataTables: every DynamoDB table of the contract, nothing restated here.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TABLES, keyAttributes, type AppTableName, type TableName, type TableSpec } from "../handlers/contract";
import type { TableNaming } from "./config";
import { childName, physicalName, renamedFrom } from "./naming";

export interface DataTablesArgs {
  naming: TableNaming;
  /** `<project>-<stack>`: what `stack` naming prefixes table names with. */
  namePrefix: string;
  /** Deletion protection plus the `protect` resource option (prod). */
  protect: boolean;
  /** Import the existing tables with these physical names instead of creating them. */
  adoptExisting: boolean;
}

/** The physical name of a table: the old name (`legacy`) or `<project>-<stack>-<name>` (`stack`). */
export function physicalTableName(table: TableName | AppTableName, naming: TableNaming, namePrefix: string): string {
  return naming === "legacy" ? table : physicalName(namePrefix, table);
}

/**
 * Settings that may differ on a table created by the old stack and that DynamoDB changes in place.
 * While adopting (the import update only), differences in these are ignored so the import succeeds; the
 * next update (adoptExistingTables off) applies them — missing GSIs included, which DynamoDB builds one per
 * UpdateTable. Keys are never ignored: `migrate` stops before the import when they differ.
 */
export const ADOPTION_IGNORED_PROPERTIES = [
  "pointInTimeRecovery", "serverSideEncryption", "deletionProtectionEnabled", "ttl", "tags",
  "globalSecondaryIndexes", "attributes", "billingMode",
];

export class DataTables extends pulumi.ComponentResource {
  readonly tables: Readonly<Record<TableName, aws.dynamodb.Table>>;
  /** Logical name -> physical table name. */
  readonly tableNames: pulumi.Output<Record<TableName, string>>;

  constructor(name: string, args: DataTablesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("people-register:data:DataTables", name, {}, opts);
    const tables = {} as Record<TableName, aws.dynamodb.Table>;
    for (const spec of TABLES) {
      const physical = physicalTableName(spec.name, args.naming, args.namePrefix);
      const logicalName = childName(name, spec.name);
      tables[spec.name] = new aws.dynamodb.Table(logicalName, tableArgs(spec, physical, args.protect), {
        parent: this,
        ...renamedFrom(name, "tables", spec.name, logicalName),
        protect: args.protect,
        // Even when Pulumi deletes the resource (protect off, stack destroyed), the table and its data stay.
        retainOnDelete: args.protect,
        ...(args.adoptExisting ? { import: physical, ignoreChanges: ADOPTION_IGNORED_PROPERTIES } : {}),
      });
    }
    this.tables = tables;
    this.tableNames = pulumi
      .all(Object.fromEntries(TABLES.map((t) => [t.name, tables[t.name].name])))
      .apply((names) => names as Record<TableName, string>);
    this.registerOutputs({ tableNames: this.tableNames });
  }
}

export function tableArgs(spec: TableSpec, physicalName: string, protect: boolean): aws.dynamodb.TableArgs {
  return {
    name: physicalName,
    billingMode: "PAY_PER_REQUEST",
    hashKey: spec.hashKey,
    ...(spec.rangeKey ? { rangeKey: spec.rangeKey } : {}),
    // DynamoDB wants exactly the key attributes of the table and its indexes declared; all strings.
    attributes: keyAttributes(spec).map((attr) => ({ name: attr, type: "S" })),
    globalSecondaryIndexes: spec.globalSecondaryIndexes.map((index) => ({
      name: index.name,
      keySchemas: [
        { attributeName: index.hashKey, keyType: "HASH" },
        ...(index.rangeKey ? [{ attributeName: index.rangeKey, keyType: "RANGE" }] : []),
      ],
      projectionType: "ALL",
    })),
    ...(spec.ttlAttribute ? { ttl: { attributeName: spec.ttlAttribute, enabled: true } } : {}),
    pointInTimeRecovery: { enabled: true },
    // AWS-managed KMS key: encrypted at rest, and key use shows up in CloudTrail.
    serverSideEncryption: { enabled: true },
    deletionProtectionEnabled: protect,
    tags: { "people-register:table": spec.name },
  };
}
