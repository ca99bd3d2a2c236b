// The handlers' AWS calls without the SDK (handlers/lib/aws.ts, lib/db.ts, SES in lib/email.ts):
// against DynamoDB Local, items, errors and transactions must look exactly as they did through the SDK
// document client; against a local HTTP server, requests must carry the SDK's own SigV4 signature,
// retry what the SDK retries, and SendEmail must be the SES v2 call.
import { createHash, createHmac, randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";
import { GetCommand as SdkGet, PutCommand as SdkPut } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { type AwsCredentials, AwsError, awsRequest, environmentCredentials } from "../../handlers/lib/aws";
import {
  BatchGetCommand,
  cancellationCodes,
  ddb,
  DeleteCommand,
  GetCommand,
  isConditionFailure,
  PutCommand,
  QueryCommand,
  queryAll,
  TransactWriteCommand,
  UpdateCommand,
} from "../../handlers/lib/db";
import { sendWithSes } from "../../handlers/lib/email";
import { envPatch } from "../support/env";
import { acquire, type Env, release } from "./support";

const rejection = async (p: Promise<unknown>): Promise<AwsError> => {
  try {
    await p;
  } catch (err) {
    return err as AwsError;
  }
  throw new Error("expected a rejection");
};

describe("handlers: the DynamoDB client against DynamoDB Local", function () {
  this.timeout(120_000);
  let env: Env;
  before(async () => {
    env = await acquire();
  });
  after(release);

  const person = (fields: Record<string, unknown> = {}) => ({
    id: randomUUID(),
    email: `${randomUUID()}@example.test`,
    address: { street: "Calle 1", city: "Cochabamba", geo: [1.5, -66.2], verified: true },
    tags: ["a", "b"],
    isAdmin: false,
    failedLoginAttempts: 0,
    phone: null,
    ...fields,
  });

  it("stores and reads items in the SDK document client's shapes, both ways (undefined fields dropped)", async () => {
    const ours: Record<string, unknown> = person({ nickname: undefined });
    await ddb().send(new PutCommand({ TableName: env.tables.PeopleTable, Item: ours }));
    const viaSdk = await env.doc.send(new SdkGet({ TableName: env.tables.PeopleTable, Key: { id: ours.id } }));
    const { nickname: _dropped, ...stored } = ours;
    expect(viaSdk.Item).to.deep.equal(stored);

    const theirs = person({ version: 3 });
    await env.doc.send(new SdkPut({ TableName: env.tables.PeopleTable, Item: theirs }));
    const out = await ddb().send(new GetCommand({ TableName: env.tables.PeopleTable, Key: { id: theirs.id }, ConsistentRead: true }));
    expect(out.Item).to.deep.equal(theirs);
    expect(out.$metadata.httpStatusCode).to.equal(200);
    const missing = await ddb().send(new GetCommand({ TableName: env.tables.PeopleTable, Key: { id: randomUUID() } }));
    expect(missing.Item).to.equal(undefined);
  });

  it("a failed condition is a ConditionalCheckFailedException, with the stored item when asked for", async () => {
    const item = person();
    await ddb().send(new PutCommand({ TableName: env.tables.PeopleTable, Item: item }));
    const err = await rejection(
      ddb().send(
        new UpdateCommand({
          TableName: env.tables.PeopleTable,
          Key: { id: item.id },
          UpdateExpression: "SET isAdmin = :t",
          ConditionExpression: "failedLoginAttempts = :n",
          ExpressionAttributeValues: { ":t": true, ":n": 5 },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
    expect(err).to.be.instanceOf(AwsError);
    expect(err.name).to.equal("ConditionalCheckFailedException");
    expect(isConditionFailure(err)).to.equal(true);
    expect(err.$fault).to.equal("client");
    expect(err.$metadata.httpStatusCode).to.equal(400);
    expect(err.Item).to.deep.equal(item);
    const updated = await ddb().send(
      new UpdateCommand({ TableName: env.tables.PeopleTable, Key: { id: item.id }, UpdateExpression: "ADD failedLoginAttempts :one", ExpressionAttributeValues: { ":one": 1 }, ReturnValues: "ALL_NEW" }),
    );
    expect(updated.Attributes).to.deep.equal({ ...item, failedLoginAttempts: 1 });
  });

  it("a cancelled transaction writes nothing and names its reasons item by item", async () => {
    const existing = person();
    await ddb().send(new PutCommand({ TableName: env.tables.PeopleTable, Item: existing }));
    const fresh = person();
    const err = await rejection(
      ddb().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: env.tables.PeopleTable, Item: fresh, ConditionExpression: "attribute_not_exists(id)" } },
            { Put: { TableName: env.tables.PeopleTable, Item: existing, ConditionExpression: "attribute_not_exists(id)" } },
          ],
        }),
      ),
    );
    expect(err.name).to.equal("TransactionCanceledException");
    expect(cancellationCodes(err)).to.deep.equal(["None", "ConditionalCheckFailed"]);
    expect((await ddb().send(new GetCommand({ TableName: env.tables.PeopleTable, Key: { id: fresh.id }, ConsistentRead: true }))).Item).to.equal(undefined);

    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: env.tables.PeopleTable, Item: fresh, ConditionExpression: "attribute_not_exists(id)" } },
          { Delete: { TableName: env.tables.PeopleTable, Key: { id: existing.id }, ConditionExpression: "email = :e", ExpressionAttributeValues: { ":e": existing.email } } },
        ],
      }),
    );
    const [a, b] = await Promise.all([fresh.id, existing.id].map((id) => ddb().send(new GetCommand({ TableName: env.tables.PeopleTable, Key: { id }, ConsistentRead: true }))));
    expect(a!.Item).to.deep.equal(fresh);
    expect(b!.Item).to.equal(undefined);
  });

  it("queries follow native LastEvaluatedKeys; batch gets answer native items per table", async () => {
    const personId = randomUUID();
    const subs = Array.from({ length: 5 }, (_, i) => ({ id: randomUUID(), personId, projectId: randomUUID(), status: "active", n: i }));
    for (const s of subs) await ddb().send(new PutCommand({ TableName: env.tables.SubscriptionsTable, Item: s }));
    const page = await ddb().send(
      new QueryCommand({ TableName: env.tables.SubscriptionsTable, IndexName: "PersonIndex", KeyConditionExpression: "personId = :p", ExpressionAttributeValues: { ":p": personId }, Limit: 2 }),
    );
    expect(page.Items).to.have.length(2);
    expect(page.LastEvaluatedKey).to.include({ personId });
    const all = await queryAll({ TableName: env.tables.SubscriptionsTable, IndexName: "PersonIndex", KeyConditionExpression: "personId = :p", ExpressionAttributeValues: { ":p": personId }, Limit: 2 });
    expect(all.map((s) => s.id).sort()).to.deep.equal(subs.map((s) => s.id).sort());

    const got = await ddb().send(new BatchGetCommand({ RequestItems: { [env.tables.SubscriptionsTable]: { Keys: subs.slice(0, 3).map((s) => ({ id: s.id })) } } }));
    const items = got.Responses?.[env.tables.SubscriptionsTable] ?? [];
    expect(items.map((s) => s.n).sort()).to.deep.equal([0, 1, 2]);
    await Promise.all(subs.map((s) => ddb().send(new DeleteCommand({ TableName: env.tables.SubscriptionsTable, Key: { id: s.id } }))));
  });

  it("an unknown table is a client fault named ResourceNotFoundException, not retried", async () => {
    const err = await rejection(ddb().send(new GetCommand({ TableName: `missing-${randomUUID()}`, Key: { id: "x" } })));
    expect(err.name).to.equal("ResourceNotFoundException");
    expect(err.$fault).to.equal("client");
    expect(err.$metadata.attempts).to.equal(1);
  });
});

// ---- a local stand-in for an AWS endpoint -------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function standIn(answer: (seen: Seen, n: number) => { status: number; body: unknown; headers?: Record<string, string> }): Promise<{ url: URL; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const s = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      seen.push(s);
      const a = answer(s, seen.length);
      res.writeHead(a.status, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": `req-${seen.length}`, ...a.headers });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    seen,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Buffer =>
  typeof d === "string" ? d : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

/** The hash the SDK's signer is given (node:crypto, as the SDK's own Node hash does). */
class NodeSha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret ? createHmac("sha256", bytes(secret)) : createHash("sha256");
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session-token-example" };

describe("handlers: signed AWS calls (lib/aws.ts)", function () {
  this.timeout(30_000);

  // Two shapes of call: DynamoDB's (path "/", role credentials with a session token) and SES v2's (a
  // longer path, long-term credentials without one).
  const SIGNED_CALLS: Array<{ service: string; region: string; path: string; credentials: AwsCredentials; headers: Record<string, string> }> = [
    { service: "dynamodb", region: "sa-east-1", path: "/", credentials: CREDENTIALS, headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.GetItem" } },
    { service: "ses", region: "eu-west-1", path: "/v2/email/outbound-emails", credentials: { accessKeyId: "AKIDLONGTERM", secretAccessKey: "another/secret+key" }, headers: { "Content-Type": "application/json" } },
  ];
  for (const call of SIGNED_CALLS) {
    it(`carries exactly the signature the AWS SDK's SigV4 signer computes for the same request (${call.service} ${call.path})`, async () => {
      const server = await standIn(() => ({ status: 200, body: { ok: true } }));
      try {
        const body = JSON.stringify({ TableName: "t", Key: { id: { S: "ü-1" } } });
        const out = await awsRequest({ service: call.service, region: call.region, endpoint: server.url, method: "POST", path: call.path, headers: call.headers, body, credentials: call.credentials });
        expect(out.body).to.deep.equal({ ok: true });
        expect(out.$metadata).to.include({ httpStatusCode: 200, requestId: "req-1", attempts: 1 });
        const got = server.seen[0]!;
        expect(got.body).to.equal(body);
        expect(got.url).to.equal(call.path);
        expect(got.headers["x-amz-security-token"]).to.equal(call.credentials.sessionToken);
        const amzDate = String(got.headers["x-amz-date"]);
        const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
        const unsigned: Record<string, string> = {};
        for (const [k, v] of Object.entries(got.headers)) if (!["authorization", "connection", "x-amz-date", "x-amz-security-token"].includes(k)) unsigned[k] = String(v);
        const signer = new SignatureV4({ service: call.service, region: call.region, credentials: call.credentials, sha256: NodeSha256, applyChecksum: false });
        const expected = await signer.sign(
          { method: "POST", protocol: "http:", hostname: "127.0.0.1", port: Number(server.url.port), path: call.path, query: {}, headers: unsigned, body },
          { signingDate },
        );
        expect(got.headers.authorization).to.equal(expected.headers.authorization);
        expect(got.headers.authorization).to.include(`/${call.region}/${call.service}/aws4_request`).and.include("content-type");
      } finally {
        await server.close();
      }
    });
  }

  it("refuses to sign a path it cannot sign exactly (encoded characters, a query string) instead of sending a bad signature", async () => {
    const base = { service: "dynamodb", region: "us-east-1", endpoint: new URL("http://127.0.0.1:1"), method: "POST" as const, headers: {}, body: "{}", credentials: CREDENTIALS };
    for (const path of ["/a b", "/?x=1", "/%2F", "relative"]) {
      const err = await rejection(awsRequest({ ...base, path }));
      expect(err.message).to.match(/cannot sign the path/);
    }
  });

  it("retries throttling and server faults (3 attempts in all), never a client error or an unreadable answer", async () => {
    const flaky = await standIn((_s, n) =>
      n < 3 ? { status: n === 1 ? 500 : 400, body: { __type: n === 1 ? "com.amazonaws.dynamodb.v20120810#InternalServerError" : "com.amazonaws.dynamodb.v20120810#ThrottlingException", message: "slow down" } } : { status: 200, body: {} },
    );
    const base = { service: "dynamodb", region: "us-east-1", method: "POST" as const, path: "/", headers: { "X-Amz-Target": "DynamoDB_20120810.GetItem" }, body: "{}", credentials: CREDENTIALS };
    try {
      const out = await awsRequest({ ...base, endpoint: flaky.url });
      expect(out.$metadata.attempts).to.equal(3);
    } finally {
      await flaky.close();
    }
    const invalid = await standIn(() => ({ status: 400, body: { __type: "com.amazon.coral.validate#ValidationException", message: "One or more parameter values were invalid" } }));
    try {
      const err = await rejection(awsRequest({ ...base, endpoint: invalid.url }));
      expect(err).to.be.instanceOf(AwsError);
      expect(err.name).to.equal("ValidationException");
      expect(err.message).to.equal("One or more parameter values were invalid");
      expect(invalid.seen).to.have.length(1);
    } finally {
      await invalid.close();
    }
    const garbled = await standIn(() => ({ status: 200, body: "not an object" }));
    try {
      const err = await rejection(awsRequest({ ...base, endpoint: garbled.url }));
      expect(err.name).to.equal("SerializationException");
      expect(garbled.seen, "a write may have happened: never sent twice").to.have.length(1);
    } finally {
      await garbled.close();
    }
    const down = await standIn(() => ({ status: 503, body: {}, headers: { "x-amzn-errortype": "ServiceUnavailableException:http://internal.amazon.com/" } }));
    try {
      const err = await rejection(awsRequest({ ...base, endpoint: down.url }));
      expect(err.name).to.equal("ServiceUnavailableException");
      expect(err.$fault).to.equal("server");
      expect(down.seen).to.have.length(3);
    } finally {
      await down.close();
    }
  });

  it("SendEmail is the SES v2 call (AWS_ENDPOINT_URL_SESV2 points it at the stand-in) and returns the MessageId", async () => {
    const ses = await standIn(() => ({ status: 200, body: { MessageId: "msg-123" } }));
    const vars = envPatch();
    vars.set({ AWS_ENDPOINT_URL_SESV2: ses.url.href, AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "AKIDSES", AWS_SECRET_ACCESS_KEY: "secret-ses" });
    try {
      const id = await sendWithSes("no-reply@example.test", { to: "ana@example.test", template: "welcome", subject: "Hola", text: "Body ü" });
      expect(id).to.equal("msg-123");
      const got = ses.seen[0]!;
      expect(got.method).to.equal("POST");
      expect(got.url).to.equal("/v2/email/outbound-emails");
      expect(got.headers.authorization).to.match(/^AWS4-HMAC-SHA256 Credential=AKIDSES\/\d{8}\/eu-west-1\/ses\/aws4_request, /);
      expect(JSON.parse(got.body)).to.deep.equal({
        FromEmailAddress: "no-reply@example.test",
        Destination: { ToAddresses: ["ana@example.test"] },
        Content: { Simple: { Subject: { Data: "Hola", Charset: "UTF-8" }, Body: { Text: { Data: "Body ü", Charset: "UTF-8" } } } },
      });
    } finally {
      vars.restore();
      await ses.close();
    }
  });

  it("credentials come from the environment only; without them (and no local fallback) a call fails closed", () => {
    const vars = envPatch();
    try {
      vars.set({ AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "secret-env", AWS_SESSION_TOKEN: "token-env" });
      expect(environmentCredentials()).to.deep.equal({ accessKeyId: "AKIDENV", secretAccessKey: "secret-env", sessionToken: "token-env" });
      vars.set({ AWS_ACCESS_KEY_ID: undefined });
      expect(() => environmentCredentials()).to.throw(/AWS credentials are not in the environment/);
      expect(environmentCredentials({ accessKeyId: "local", secretAccessKey: "local" })).to.deep.equal({ accessKeyId: "local", secretAccessKey: "local" });
    } finally {
      vars.restore();
    }
  });
});
