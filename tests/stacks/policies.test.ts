import { expect } from "chai";
import { TABLES, tablesFor, type FunctionName } from "../../handlers/contract";
import { DYNAMODB_ACTIONS, dynamoActions, functionPolicy, sesIdentityArns } from "../../stacks/policies";

const arnOf = (name: string) => `arn:aws:dynamodb:eu-west-1:111122223333:table/x-${name}`;
const tableArns = Object.fromEntries(TABLES.map((t) => [t.name, arnOf(t.name)]));
const policyFor = (fn: FunctionName) =>
  functionPolicy({ fn, tableArns, sesIdentityArns: ["arn:ses/a@b.org", "arn:ses/b.org"], sesFromEmail: "a@b.org", logGroupArn: `arn:logs:/aws/lambda/${fn}` });

describe("stacks/policies: least-privilege function policies", () => {
  for (const fn of ["api", "auth"] as const) {
    it(`${fn}: DynamoDB actions on exactly the contract's tables, with the contract's access`, () => {
      const dynamo = policyFor(fn).Statement.filter((s) => s.Action.some((a) => a.startsWith("dynamodb:")));
      const granted = new Map<string, Set<string>>();
      for (const s of dynamo) {
        expect(s.Resource.every((r) => r.startsWith("arn:aws:dynamodb:"))).to.equal(true);
        for (const r of s.Resource) {
          const table = r.replace(/\/index\/\*$/, "");
          for (const a of s.Action) granted.set(table, new Set([...(granted.get(table) ?? []), a]));
        }
      }
      const expected = tablesFor(fn);
      expect([...granted.keys()].sort()).to.deep.equal(expected.map((t) => arnOf(t.table.name)).sort());
      for (const { table, access } of expected) {
        expect([...granted.get(arnOf(table.name))!].sort(), table.name).to.deep.equal(dynamoActions(access));
      }
    });
  }

  it("never grants a wildcard table, and the auth function cannot reach ProjectsTable", () => {
    for (const fn of ["api", "auth"] as const) {
      for (const s of policyFor(fn).Statement.filter((x) => x.Action.some((a) => a.startsWith("dynamodb:")))) {
        for (const r of s.Resource) expect(r.replace(/\/index\/\*$/, "")).to.not.contain("*");
      }
    }
    expect(JSON.stringify(policyFor("auth"))).to.not.contain("ProjectsTable");
    expect(JSON.stringify(policyFor("api"))).to.contain("ProjectsTable");
  });

  it("grants index access only with read access (a write-only table has no index resource)", () => {
    const auth = policyFor("auth");
    const write = auth.Statement.find((s) => s.Sid === "DynamoDbWrite")!;
    expect(write.Resource).to.include(arnOf("AuditLogsTable"));
    expect(write.Resource.some((r) => r.endsWith("/index/*"))).to.equal(false);
    expect(write.Action).to.not.include("dynamodb:Query");
    const rw = auth.Statement.find((s) => s.Sid === "DynamoDbReadWrite")!;
    expect(rw.Resource).to.include(`${arnOf("PeopleTable")}/index/*`);
  });

  it("lets a function send email only as the configured sender, and log only to its own group", () => {
    const statements = policyFor("api").Statement;
    const ses = statements.find((s) => s.Action.includes("ses:SendEmail"))!;
    expect(ses.Resource).to.deep.equal(["arn:ses/a@b.org", "arn:ses/b.org"]);
    expect(ses.Condition).to.deep.equal({ StringEquals: { "ses:FromAddress": "a@b.org" } });
    const logs = statements.find((s) => s.Sid === "OwnLogGroup")!;
    expect(logs.Resource).to.deep.equal(["arn:logs:/aws/lambda/api:*"]);
    expect(statements.flatMap((s) => s.Action).filter((a) => !a.startsWith("dynamodb:"))).to.have.members([
      "ses:SendEmail", "logs:CreateLogStream", "logs:PutLogEvents",
    ]);
  });

  it("maps access levels to the documented actions", () => {
    expect(dynamoActions("read")).to.have.members([...DYNAMODB_ACTIONS.read]);
    expect(dynamoActions("write")).to.have.members([...DYNAMODB_ACTIONS.write]);
    expect(dynamoActions("readwrite")).to.have.members([...new Set([...DYNAMODB_ACTIONS.read, ...DYNAMODB_ACTIONS.write])]);
    expect(sesIdentityArns({ partition: "aws", region: "eu-west-1", accountId: "1", sesFromEmail: "n@mail.example.org" })).to.deep.equal([
      "arn:aws:ses:eu-west-1:1:identity/n@mail.example.org",
      "arn:aws:ses:eu-west-1:1:identity/mail.example.org",
    ]);
  });
});
