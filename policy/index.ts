// The people-register guardrails policy pack. `preview`/`deploy` pass this folder as a policy pack;
// by hand: `pulumi preview --policy-pack policy`. Every policy is mandatory: a violation fails the run.
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("people-register-guardrails", {
  description: "Guardrails for the People Register stack: no public data, recoverable and encrypted tables, bounded logs, least privilege, HTTPS only, no plain secrets.",
  enforcementLevel: "mandatory",
  policies: POLICIES,
});
