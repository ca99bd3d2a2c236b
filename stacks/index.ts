// Entry point of the Pulumi program (Pulumi.yaml `main`). Loading it bundles the handlers (esbuild into
// .build/, automation/shared/build.ts) at preview and update time, so what runs locally is what ships.
// Read top-down:
//   program.ts     wires the components together and defines the stack outputs
//   config.ts      typed, validated config (secrets stay Pulumi secrets)
//   tables.ts      DataTables       every DynamoDB table of handlers/contract
//   hosting.ts     FrontendHosting  private S3 bucket + CloudFront with Origin Access Control
//   api.ts         RegistryApi      the api and auth functions + the REST API
//     function.ts  one function with its own role, log group and JSON logs
//     code.ts      where the code comes from (esbuild bundle, integrated zip or image)
//     policies.ts  least-privilege IAM statements from the contract
//     openapi.ts   the REST API definition from the contract's routes
//     integrated.ts  what only a synced registry-api app needs (its tables, the images bucket)
//   monitoring.ts  Monitoring       alarms to an SNS topic
//   naming.ts      the one naming rule: <project>-<stack>-<name>
import { peopleRegister } from "./program";

// Every property becomes a stack output: apiUrl, frontendUrl, frontendBucket, distributionId,
// tableNames, functionNames, handlerKind, candidateUrl, liveVersions, candidateVersions.
export = peopleRegister();
