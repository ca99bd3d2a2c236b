// The naming rule: physical names `<project>-<stack>-<name>`, children named after their component, and
// aliases that keep existing resources when a child's logical name changed.
import { expect } from "chai";
import { childName, physicalName, renamedFrom } from "../../stacks/naming";
import { removeRepo, runProgram, tempRepo, type RunResult } from "./harness";

describe("stacks: naming", function () {
  this.timeout(60_000);
  let repo: string;
  let result: RunResult;
  before(async () => {
    repo = tempRepo();
    result = await runProgram({ repoRoot: repo });
  });
  after(() => removeRepo(repo));

  it("derives child names from the component, so two instances never share a logical name", () => {
    expect(childName("tables", "PeopleTable")).to.equal("tables-PeopleTable");
    expect(childName("tables-eu", "PeopleTable")).to.not.equal(childName("tables", "PeopleTable"));
    expect(childName("api")).to.equal("api");
    expect(physicalName("people-register-prod", "api")).to.equal("people-register-prod-api");
  });

  it("aliases only the instance the program always created, and only renamed children", () => {
    expect(renamedFrom("tables", "tables", "PeopleTable", "tables-PeopleTable")).to.deep.equal({ aliases: [{ name: "PeopleTable" }] });
    expect(renamedFrom("tables-eu", "tables", "PeopleTable", "tables-eu-PeopleTable")).to.deep.equal({});
    expect(renamedFrom("api", "api", "api", "api")).to.deep.equal({});
  });

  it("keeps every existing table, function and the alarm topic under its old logical name (no re-create)", () => {
    const aliased = (type: string, name: string) => result.resources.find((r) => r.type === type && r.name === name)?.aliases;
    expect(aliased("aws:dynamodb/table:Table", "tables-PeopleTable")).to.deep.equal(["PeopleTable"]);
    expect(aliased("people-register:api:Function", "api-auth")).to.deep.equal(["auth"]);
    expect(aliased("aws:sns/topic:Topic", "monitoring-alarms")).to.deep.equal(["alarms"]);
  });

  it("registers no logical name twice within one parent type", () => {
    const keys = result.resources.map((r) => `${r.parentType}/${r.type}::${r.name}`);
    expect(keys.length).to.equal(new Set(keys).size);
  });

  it("gives every explicitly named resource a `<project>-<stack>-` name", () => {
    for (const r of result.resources) {
      if (!["aws:lambda/function:Function", "aws:dynamodb/table:Table", "aws:apigateway/restApi:RestApi"].includes(r.type)) continue;
      expect(r.inputs.name, r.name).to.match(/^people-register-test-/);
    }
  });
});
