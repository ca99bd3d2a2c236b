// IntegratedAppData: what only the synced registry-api app needs besides the contract's tables — its
// own tables (AccountLockoutTable, ProjectSubmissions, the hard-coded roles table) and the project
// images bucket — provisioned only when the synced code reads them (sync-metadata.json), and the
// function's environment and grants, from the one rule in automation/shared/integrated.ts.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { APP_TABLES, type AppTableName, SECRET_PARAMETER_SUFFIX, type TableName, type TableSpec } from "../handlers/contract";
import { type IntegratedPlan, integratedEnvironment } from "../automation/shared/integrated";
import type { StackConfig, TableNaming } from "./config";
import { privateBucketControls } from "./hosting";
import { childName } from "./naming";
import { physicalTableName, tableArgs } from "./tables";

export interface IntegratedAppDataArgs {
  plan: IntegratedPlan;
  naming: TableNaming;
  namePrefix: string;
  protect: boolean;
  /** Config `integratedExistingTables`: V2 variables or app tables -> existing physical names. */
  existingTables: Record<string, string>;
  /** The ARN of a table in the stack's account and region, by physical name. */
  tableArn: (physicalName: string) => pulumi.Output<string>;
}

type TableRef = { name: pulumi.Output<string>; arn: pulumi.Output<string> };

/** The physical name of an app table: the name the app hard-codes, else the contract's naming rule. */
export function appTableName(table: AppTableName, naming: TableNaming, namePrefix: string): string {
  const spec = APP_TABLES.find((t) => t.name === table)!;
  return spec.fixedName ?? physicalTableName(table, naming, namePrefix);
}

export class IntegratedAppData extends pulumi.ComponentResource {
  readonly appTables: Partial<Record<AppTableName, TableRef>> = {};
  readonly imagesBucket?: aws.s3.Bucket;

  constructor(name: string, private readonly args: IntegratedAppDataArgs, opts?: pulumi.ComponentResourceOptions) {
    super("people-register:data:IntegratedAppData", name, {}, opts);
    for (const { table } of args.plan.appTables) {
      const existing = args.existingTables[table];
      if (existing) {
        this.appTables[table] = { name: pulumi.output(existing), arn: args.tableArn(existing) };
        continue;
      }
      const spec = APP_TABLES.find((t) => t.name === table)!;
      const created = new aws.dynamodb.Table(childName(name, table), tableArgs(spec as unknown as TableSpec, appTableName(table, args.naming, args.namePrefix), args.protect), {
        parent: this,
        protect: args.protect,
        retainOnDelete: args.protect,
      });
      this.appTables[table] = { name: created.name, arn: created.arn };
    }

    if (args.plan.imagesBucket) {
      const images = childName(name, "project-images");
      const bucket = new aws.s3.Bucket(images, { forceDestroy: !args.protect }, { parent: this, protect: args.protect, retainOnDelete: args.protect });
      privateBucketControls(images, bucket.id, this);
      this.imagesBucket = bucket;
    }
    this.registerOutputs({});
  }

  /** A contract table for a variable: the existing V2 table config names, else the contract's table. */
  private table(tables: Readonly<Record<TableName, TableRef>>, table: TableName, variable: string): TableRef {
    const existing = this.args.existingTables[variable];
    return existing ? { name: pulumi.output(existing), arn: this.args.tableArn(existing) } : tables[table];
  }

  /** The function's environment (exactly what the app reads, never TESTING or DEBUG). */
  environment(tables: Readonly<Record<TableName, TableRef>>, config: StackConfig, values: { frontendUrl: pulumi.Input<string>; corsOrigins: pulumi.Input<string[]>; secretParameterName: (secret: "jwtSecret" | "csrfSecret") => pulumi.Input<string> }): Record<string, pulumi.Input<string>> {
    return integratedEnvironment<pulumi.Input<string>>(this.args.plan, {
      table: (t, variable) => this.table(tables, t, variable).name,
      appTable: (t) => this.appTables[t]!.name,
      // Never the secret itself: the name of its SSM parameter, resolved by the shim before the app is imported.
      secret: (s, variable) => ({ name: `${variable}${SECRET_PARAMETER_SUFFIX}`, value: values.secretParameterName(s) }),
      config: (c) =>
        c === "corsOrigins" ? pulumi.output(values.corsOrigins).apply((o) => o.join(","))
        : c === "frontendUrl" ? values.frontendUrl
        : c === "jwtExpirationHours" ? String(config.jwtExpirationHours)
        : config.sesFromEmail,
      value: (v) => v.aws,
      imagesBucket: () => this.imagesBucket!.bucket,
      imagesDomain: () => this.imagesBucket!.bucketRegionalDomainName,
      literal: (v) => v,
    });
  }

  /** The secrets the synced app reads (the function may read exactly these parameters). */
  secretsRead(): Array<"jwtSecret" | "csrfSecret"> {
    const read = new Set<"jwtSecret" | "csrfSecret">();
    for (const p of Object.values(this.args.plan.variables)) if (p.kind === "secret") read.add(p.secret);
    return [...read].sort();
  }

  /** What the function's policy grants: every table the app uses (DescribeTable where it calls it) and the images bucket. */
  grants(tables: Readonly<Record<TableName, TableRef>>): pulumi.Output<{ tables: Array<{ arn: string; describe: boolean }>; imagesBucketArn?: string }> {
    const refs: Array<pulumi.Output<{ arn: string; describe: boolean }>> = [];
    for (const [variable, p] of Object.entries(this.args.plan.variables)) {
      if (p.kind !== "table") continue;
      refs.push(this.table(tables, p.table, variable).arn.apply((arn) => ({ arn, describe: Boolean(p.describe) })));
    }
    for (const { table, describe } of this.args.plan.appTables) refs.push(this.appTables[table]!.arn.apply((arn) => ({ arn, describe })));
    // Sorted for a stable policy; integratedFunctionPolicy merges entries naming the same ARN.
    return pulumi.all([pulumi.all(refs), this.imagesBucket?.arn]).apply(([list, bucketArn]) => ({
      tables: [...list].sort((a, b) => a.arn.localeCompare(b.arn)),
      ...(bucketArn ? { imagesBucketArn: bucketArn } : {}),
    }));
  }
}
