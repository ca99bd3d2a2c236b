// The whole People Register stack: config -> tables -> frontend hosting -> API -> alarms.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FunctionName, TableName } from "../handlers/contract";
import { REPO_ROOT } from "../automation/shared/paths";
import { selectHandler } from "../automation/shared/select";
import { RegistryApi } from "./api";
import { loadConfig } from "./config";
import { stackPrefix } from "./naming";
import { FrontendHosting } from "./hosting";
import { Monitoring } from "./monitoring";
import { DataTables } from "./tables";

/** The stack outputs (see docs/readme/stacks.md for what each means). */
export interface StackOutputs {
  apiUrl: pulumi.Output<string>;
  frontendUrl: pulumi.Output<string>;
  frontendBucket: pulumi.Output<string>;
  distributionId: pulumi.Output<string>;
  tableNames: pulumi.Output<Record<TableName, string>>;
  functionNames: pulumi.Output<Record<FunctionName, string>>;
  handlerKind: pulumi.Output<string>;
  /** The API on the candidate stage (newest function versions) and the versions behind `live` and `candidate`. */
  candidateUrl: pulumi.Output<string>;
  liveVersions: pulumi.Output<Record<FunctionName, string>>;
  candidateVersions: pulumi.Output<Record<FunctionName, string>>;
}

export interface ProgramOptions {
  /** Repository whose handlers/, lambda/ and .build/ are deployed (default: this checkout). */
  repoRoot?: string;
}

export function peopleRegister(opts: ProgramOptions = {}): StackOutputs {
  const repoRoot = opts.repoRoot ?? REPO_ROOT;
  const config = loadConfig({ repoRoot });
  const namePrefix = stackPrefix();
  // The same rule the driver uses, so `pulumi up` from a shell deploys what CI would.
  const selection = selectHandler({ repoRoot, preference: config.handler });
  pulumi.log.info(`handler: ${selection.kind} (${selection.reason})`);

  const data = new DataTables("tables", {
    naming: config.tableNaming,
    namePrefix,
    protect: config.protect,
    adoptExisting: config.adoptExistingTables,
  });

  // The CSP lets the app call the API: its custom domain, or any regional execute-api host (its URL is not
  // known yet here: the API needs the frontend's URL first).
  const region = aws.getRegionOutput({}).region;
  const connectSources = config.apiDomainName
    ? pulumi.output([`https://${config.apiDomainName}`])
    : region.apply((r) => [`https://*.execute-api.${r}.amazonaws.com`]);
  const hosting = new FrontendHosting("frontend", {
    protect: config.protect,
    frontendDir: config.frontendDir,
    domainName: config.domainName,
    certificateArn: config.certificateArn,
    hostedZoneId: config.hostedZoneId,
    connectSources,
  });
  const frontendUrl = config.frontendUrl ? pulumi.output(config.frontendUrl) : hosting.url;
  const corsOrigins = config.corsOrigins ? pulumi.output(config.corsOrigins) : frontendUrl.apply((url) => [new URL(url).origin]);

  const api = new RegistryApi("api", {
    namePrefix,
    repoRoot,
    selection,
    config,
    tables: data.tables,
    frontendUrl,
    corsOrigins,
    dryRun: pulumi.runtime.isDryRun(),
  });

  const functionNames = { api: api.functions.api.function.name, auth: api.functions.auth.function.name };
  new Monitoring("monitoring", {
    namePrefix,
    tableNames: Object.fromEntries(Object.entries(data.tables).map(([t, table]) => [t, table.name])) as Record<TableName, pulumi.Output<string>>,
    apiName: api.restApi.name,
    stageName: api.stage.stageName,
    functionNames,
    alarmEmail: config.alarmEmail,
  });

  return {
    apiUrl: api.apiUrl,
    frontendUrl,
    frontendBucket: hosting.bucket.bucket,
    distributionId: hosting.distribution.id,
    tableNames: data.tableNames,
    functionNames: pulumi.output(functionNames),
    handlerKind: api.handlerKind,
    candidateUrl: api.candidateUrl,
    liveVersions: api.liveVersions,
    candidateVersions: api.candidateVersions,
  };
}
