// RegistryApi: the two functions (api, auth) and the regional REST API generated from the contract.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ENV, FUNCTION_ENV, SECRET_PARAMETERS, TABLES, gatewayRoutes, tablesFor, type EnvKey, type FunctionName, type TableName } from "../handlers/contract";
import type { HandlerSelection } from "../automation/select";
import { bundledCode, integratedCode } from "./code";
import type { StackConfig } from "./config";
import { ApiFunction } from "./function";
import { bodyHash, openApiBody } from "./openapi";
import { sesIdentityArns } from "./policies";

export interface RegistryApiArgs {
  /** `<project>-<stack>`: prefix of every physical name. */
  namePrefix: string;
  repoRoot: string;
  /** The handler serving the `api` function, from the one selection rule. */
  selection: HandlerSelection;
  config: StackConfig;
  /** Physical table name and ARN per logical table. */
  tables: Readonly<Record<TableName, { name: pulumi.Output<string>; arn: pulumi.Output<string> }>>;
  frontendUrl: pulumi.Input<string>;
  corsOrigins: pulumi.Input<string[]>;
  /** True in a preview (`pulumi.runtime.isDryRun()`). */
  dryRun: boolean;
}

/** Lambda sizing: auth hashes with bcrypt at cost 12 (CPU-bound, CPU scales with memory). */
const SIZING: Record<FunctionName | "integrated", { memorySize: number; timeoutSeconds: number }> = {
  api: { memorySize: 512, timeoutSeconds: 29 },
  integrated: { memorySize: 1024, timeoutSeconds: 29 },
  auth: { memorySize: 1024, timeoutSeconds: 15 },
};

/** What each access log line records (JSON, one line per request). */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  method: "$context.httpMethod",
  path: "$context.resourcePath",
  status: "$context.status",
  latencyMs: "$context.responseLatency",
  integrationError: "$context.integrationErrorMessage",
  responseType: "$context.error.responseType",
});

export class RegistryApi extends pulumi.ComponentResource {
  readonly functions: Readonly<Record<FunctionName, ApiFunction>>;
  readonly restApi: aws.apigateway.RestApi;
  readonly stage: aws.apigateway.Stage;
  /** Invoke URL of the stage, without a trailing slash. */
  readonly apiUrl: pulumi.Output<string>;
  readonly handlerKind: pulumi.Output<string>;

  constructor(name: string, args: RegistryApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("people-register:api:RegistryApi", name, {}, opts);
    const { config, namePrefix } = args;
    const parent = { parent: this };
    const integrated = args.selection.kind === "integrated";

    const partition = aws.getPartitionOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    const identity = aws.getCallerIdentityOutput({}, parent);
    const senderIdentities = pulumi
      .all([partition.partition, region.region, identity.accountId])
      .apply(([p, r, accountId]) => sesIdentityArns({ partition: p, region: r, accountId, sesFromEmail: config.sesFromEmail }));

    const tableArns = Object.fromEntries(TABLES.map((t) => [t.name, args.tables[t.name].arn])) as Record<TableName, pulumi.Output<string>>;
    // Secrets live in SSM Parameter Store as SecureStrings (from the Pulumi secrets); a function's
    // environment carries only the parameter's name, which `lambda:GetFunctionConfiguration` may show.
    const secretValues = { jwtSecret: config.jwtSecret, csrfSecret: config.csrfSecret } as const;
    const secretParameters = new Map<EnvKey, aws.ssm.Parameter>(
      SECRET_PARAMETERS.map(({ secret, parameter }) => [
        parameter,
        new aws.ssm.Parameter(`${ENV[secret].toLowerCase().replace(/_/g, "-")}`, {
          name: `/${namePrefix}/${ENV[secret]}`,
          description: `People Register ${ENV[secret]} (read by the functions at cold start)`,
          type: "SecureString",
          value: secretValues[secret as keyof typeof secretValues],
        }, parent),
      ]),
    );
    const settings: Partial<Record<EnvKey, pulumi.Input<string>>> = {
      ...Object.fromEntries([...secretParameters].map(([key, param]) => [key, param.name])),
      jwtExpirationHours: String(config.jwtExpirationHours),
      sesFromEmail: config.sesFromEmail,
      frontendUrl: args.frontendUrl,
      corsOrigins: pulumi.output(args.corsOrigins).apply((origins) => origins.join(",")),
      logLevel: "INFO",
      handlerKind: args.selection.kind,
    };
    // Each function gets the names of its own tables and its own settings, from the contract (as IAM).
    const environment = (fn: FunctionName): Record<string, pulumi.Input<string>> => ({
      ...Object.fromEntries(tablesFor(fn).map(({ table }) => [table.envVar, args.tables[table.name].name])),
      ...Object.fromEntries(FUNCTION_ENV[fn].flatMap((key) => (settings[key] !== undefined ? [[ENV[key], settings[key] as pulumi.Input<string>]] : []))),
    });
    const secretArns = (fn: FunctionName): pulumi.Output<string>[] =>
      FUNCTION_ENV[fn].flatMap((key) => {
        const param = secretParameters.get(key);
        return param ? [param.arn] : [];
      });
    const common = { tableArns, sesIdentityArns: senderIdentities, sesFromEmail: config.sesFromEmail, logRetentionDays: config.logRetentionDays };

    const apiFn = new ApiFunction("api", {
      ...common,
      fn: "api",
      functionName: `${namePrefix}-api`,
      description: `People Register API (${args.selection.kind} handler)`,
      code: integrated
        ? integratedCode({ repoRoot: args.repoRoot, sync: args.selection.sync, packaging: config.integratedPackaging, dryRun: args.dryRun, namePrefix, parent: this })
        : bundledCode("api", args.repoRoot),
      ...SIZING[integrated ? "integrated" : "api"],
      environment: environment("api"),
      secretParameterArns: secretArns("api"),
    }, parent);
    const authFn = new ApiFunction("auth", {
      ...common,
      fn: "auth",
      functionName: `${namePrefix}-auth`,
      description: "People Register auth (login, logout, me, refresh)",
      code: bundledCode("auth", args.repoRoot),
      ...SIZING.auth,
      environment: environment("auth"),
      secretParameterArns: secretArns("auth"),
    }, parent);
    this.functions = { api: apiFn, auth: authFn };

    const body = pulumi
      .all([apiFn.function.invokeArn, authFn.function.invokeArn, pulumi.output(args.corsOrigins)])
      .apply(([api, auth, corsOrigins]) => openApiBody({
        title: `${namePrefix}-api`,
        corsOrigins,
        routes: gatewayRoutes({ greedy: integrated }),
        integrationUris: { api, auth },
      }));
    this.restApi = new aws.apigateway.RestApi("api", {
      name: `${namePrefix}-api`,
      description: "People Register REST API, generated from handlers/contract",
      body,
      // The definition is the whole API: methods not in it are removed.
      putRestApiMode: "overwrite",
      endpointConfiguration: { types: "REGIONAL" },
    }, parent);

    const deployment = new aws.apigateway.Deployment("api", {
      restApi: this.restApi.id,
      description: "Replaced whenever the API definition changes",
      triggers: { definition: body.apply(bodyHash) },
    }, parent);

    const accessLogs = new aws.cloudwatch.LogGroup("api-access-logs", {
      name: `/aws/apigateway/${namePrefix}-api/access`,
      retentionInDays: config.logRetentionDays,
    }, parent);
    const account = config.apiGatewayLogsRole ? apiGatewayAccount(this) : undefined;

    this.stage = new aws.apigateway.Stage("api", {
      restApi: this.restApi.id,
      deployment: deployment.id,
      stageName: config.stageName,
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
    }, { parent: this, dependsOn: account ? [account] : [] });

    // API Gateway would create the execution log group itself, with infinite retention.
    const executionLogs = new aws.cloudwatch.LogGroup("api-execution-logs", {
      name: pulumi.interpolate`API-Gateway-Execution-Logs_${this.restApi.id}/${config.stageName}`,
      retentionInDays: config.logRetentionDays,
    }, parent);

    // Throttling lives in method settings, paired with the standalone stage above.
    new aws.apigateway.MethodSettings("api", {
      restApi: this.restApi.id,
      stageName: this.stage.stageName,
      methodPath: "*/*",
      settings: {
        throttlingRateLimit: config.throttlingRateLimit,
        throttlingBurstLimit: config.throttlingBurstLimit,
        // Per-method metrics are billed as custom metrics; the stage-level metrics the alarms use are free.
        metricsEnabled: false,
        loggingLevel: "ERROR",
        dataTraceEnabled: false,
      },
    }, { parent: this, dependsOn: [executionLogs] });

    for (const [fnName, fn] of Object.entries(this.functions)) {
      new aws.lambda.Permission(`${fnName}-invoke`, {
        action: "lambda:InvokeFunction",
        function: fn.function.name,
        principal: "apigateway.amazonaws.com",
        // Only this API may invoke the function.
        sourceArn: pulumi.interpolate`${this.restApi.executionArn}/*/*`,
      }, parent);
    }

    this.apiUrl = this.stage.invokeUrl.apply((url) => url.replace(/\/+$/, ""));
    this.handlerKind = pulumi.output(args.selection.kind);
    this.registerOutputs({ apiUrl: this.apiUrl, handlerKind: this.handlerKind });
  }
}

/** The account-level role API Gateway uses to write access and execution logs (one per account and region). */
function apiGatewayAccount(parent: pulumi.Resource): aws.apigateway.Account {
  const role = new aws.iam.Role("apigateway-logs", {
    description: "Lets API Gateway write access and execution logs to CloudWatch",
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
  }, { parent });
  const partition = aws.getPartitionOutput({}, { parent });
  const attachment = new aws.iam.RolePolicyAttachment("apigateway-logs", {
    role: role.name,
    policyArn: pulumi.interpolate`arn:${partition.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`,
  }, { parent });
  return new aws.apigateway.Account("apigateway-logs", { cloudwatchRoleArn: role.arn }, { parent, dependsOn: [attachment] });
}
