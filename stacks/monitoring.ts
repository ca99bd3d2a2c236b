// Operations: CloudWatch alarms for the API's 5xx rate and each function's errors and throttles,
// sent to one SNS topic (with an email subscription when alarmEmail is set).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FunctionName } from "../handlers/contract";
import { childName, renamedFrom } from "./naming";

export interface MonitoringArgs {
  apiName: pulumi.Input<string>;
  stageName: pulumi.Input<string>;
  functionNames: Readonly<Record<FunctionName, pulumi.Input<string>>>;
  alarmEmail?: string;
}

/** Share of requests answered 5xx (over 5 minutes) that raises the alarm. */
export const API_5XX_RATE_THRESHOLD = 0.05;
const PERIOD_SECONDS = 300;

export class Monitoring extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("people-register:ops:Monitoring", name, {}, opts);
    const child = (suffix: string) => ({ name: childName(name, suffix), opts: { parent: this, ...renamedFrom(name, "monitoring", suffix, childName(name, suffix)) } });
    // Not KMS-encrypted on purpose: CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key.
    const topic = child("alarms");
    this.topic = new aws.sns.Topic(topic.name, {}, topic.opts);
    if (args.alarmEmail) {
      const subscription = child("alarms-email");
      new aws.sns.TopicSubscription(subscription.name, { topic: this.topic.arn, protocol: "email", endpoint: args.alarmEmail }, subscription.opts);
    }
    const actions = { alarmActions: [this.topic.arn], okActions: [this.topic.arn], treatMissingData: "notBreaching" };

    const rate = child("api-5xx-rate");
    this.alarms.push(new aws.cloudwatch.MetricAlarm(rate.name, {
      alarmDescription: `More than ${API_5XX_RATE_THRESHOLD * 100}% of API requests answered 5xx over 5 minutes`,
      namespace: "AWS/ApiGateway",
      metricName: "5XXError",
      dimensions: { ApiName: args.apiName, Stage: args.stageName },
      // 5XXError is 0 or 1 per request, so its average is the 5xx rate.
      statistic: "Average",
      period: PERIOD_SECONDS,
      evaluationPeriods: 1,
      threshold: API_5XX_RATE_THRESHOLD,
      comparisonOperator: "GreaterThanThreshold",
      ...actions,
    }, rate.opts));

    for (const [fn, functionName] of Object.entries(args.functionNames)) {
      for (const metricName of ["Errors", "Throttles"] as const) {
        const alarm = child(`${fn}-${metricName.toLowerCase()}`);
        this.alarms.push(new aws.cloudwatch.MetricAlarm(alarm.name, {
          alarmDescription: `Function ${fn}: ${metricName.toLowerCase()} in the last 5 minutes`,
          namespace: "AWS/Lambda",
          metricName,
          dimensions: { FunctionName: functionName },
          statistic: "Sum",
          period: PERIOD_SECONDS,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          ...actions,
        }, alarm.opts));
      }
    }
    this.registerOutputs({ topicArn: this.topic.arn });
  }
}
