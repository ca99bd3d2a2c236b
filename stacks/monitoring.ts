// Operations: CloudWatch alarms on what users feel — the API's 5xx rate, its p99 latency, Lambda throttles
// and DynamoDB throttling — sent to one SNS topic (with an email subscription when alarmEmail is set).
// A single failed request does not page anyone: every alarm is a rate or needs several bad periods.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FunctionName, TableName } from "../handlers/contract";
import { childName, physicalName, renamedFrom } from "./naming";

export interface MonitoringArgs {
  /** `<project>-<stack>`: alarm names start with it. */
  namePrefix: string;
  apiName: pulumi.Input<string>;
  stageName: pulumi.Input<string>;
  functionNames: Readonly<Record<FunctionName, pulumi.Input<string>>>;
  tableNames: Readonly<Record<TableName, pulumi.Input<string>>>;
  alarmEmail?: string;
}

/** Share of requests answered 5xx (over 5 minutes) that raises the alarm. */
export const API_5XX_RATE_THRESHOLD = 0.05;
/** p99 of the API's latency (ms) that raises the alarm when it holds for three periods. */
export const API_P99_LATENCY_MS = 5_000;
/** Throttled invocations of one function in 5 minutes that raise the alarm. */
export const LAMBDA_THROTTLES_THRESHOLD = 5;
/** Throttled DynamoDB requests (all tables) in 5 minutes that raise the alarm. */
export const DYNAMODB_THROTTLES_THRESHOLD = 10;
const PERIOD_SECONDS = 300;

export class Monitoring extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("people-register:ops:Monitoring", name, {}, opts);
    const child = (suffix: string) => ({ name: childName(name, suffix), opts: { parent: this, ...renamedFrom(name, "monitoring", suffix, childName(name, suffix)) } });
    const alarmName = (suffix: string) => physicalName(args.namePrefix, suffix);
    // Not KMS-encrypted on purpose: CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key.
    const topic = child("alarms");
    this.topic = new aws.sns.Topic(topic.name, { name: alarmName("alarms") }, topic.opts);
    if (args.alarmEmail) {
      const subscription = child("alarms-email");
      new aws.sns.TopicSubscription(subscription.name, { topic: this.topic.arn, protocol: "email", endpoint: args.alarmEmail }, subscription.opts);
    }
    const actions = { alarmActions: [this.topic.arn], okActions: [this.topic.arn], treatMissingData: "notBreaching" };
    const alarm = (suffix: string, alarmArgs: aws.cloudwatch.MetricAlarmArgs) => {
      const c = child(suffix);
      this.alarms.push(new aws.cloudwatch.MetricAlarm(c.name, { name: alarmName(suffix), ...actions, ...alarmArgs }, c.opts));
    };
    const api = { ApiName: args.apiName, Stage: args.stageName };

    alarm("api-5xx-rate", {
      alarmDescription: `More than ${API_5XX_RATE_THRESHOLD * 100}% of API requests answered 5xx over 5 minutes`,
      namespace: "AWS/ApiGateway",
      metricName: "5XXError",
      dimensions: api,
      // 5XXError is 0 or 1 per request, so its average is the 5xx rate.
      statistic: "Average",
      period: PERIOD_SECONDS,
      evaluationPeriods: 1,
      threshold: API_5XX_RATE_THRESHOLD,
      comparisonOperator: "GreaterThanThreshold",
    });
    alarm("api-p99-latency", {
      alarmDescription: `API p99 latency above ${API_P99_LATENCY_MS} ms for 15 minutes`,
      namespace: "AWS/ApiGateway",
      metricName: "Latency",
      dimensions: api,
      extendedStatistic: "p99",
      period: PERIOD_SECONDS,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: API_P99_LATENCY_MS,
      comparisonOperator: "GreaterThanThreshold",
    });
    for (const [fn, functionName] of Object.entries(args.functionNames)) {
      alarm(`${fn}-throttles`, {
        alarmDescription: `Function ${fn}: ${LAMBDA_THROTTLES_THRESHOLD} or more throttled invocations in 5 minutes`,
        namespace: "AWS/Lambda",
        metricName: "Throttles",
        dimensions: { FunctionName: functionName },
        statistic: "Sum",
        period: PERIOD_SECONDS,
        evaluationPeriods: 1,
        threshold: LAMBDA_THROTTLES_THRESHOLD,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
    // One alarm per direction over every table (metric math; an alarm takes at most 10 metrics).
    const tables = Object.entries(args.tableNames);
    for (const direction of ["Read", "Write"] as const) {
      const ids = tables.map((_, i) => `t${i}`);
      alarm(`dynamodb-${direction.toLowerCase()}-throttles`, {
        alarmDescription: `${DYNAMODB_THROTTLES_THRESHOLD} or more throttled DynamoDB ${direction.toLowerCase()}s (all tables) in 5 minutes`,
        evaluationPeriods: 1,
        threshold: DYNAMODB_THROTTLES_THRESHOLD,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        metricQueries: [
          { id: "total", expression: `SUM([${ids.join(",")}])`, label: `${direction} throttle events`, returnData: true },
          ...tables.map(([, tableName], i) => ({
            id: ids[i],
            returnData: false,
            metric: { namespace: "AWS/DynamoDB", metricName: `${direction}ThrottleEvents`, dimensions: { TableName: tableName }, stat: "Sum", period: PERIOD_SECONDS },
          })),
        ],
      });
    }
    this.registerOutputs({ topicArn: this.topic.arn });
  }
}
