// Secrets in a Lambda function's environment.
//
// What a policy can see: the engine hands policy packs every input with secrets already decrypted
// (@pulumi/policy unwraps them for validation), so a Pulumi secret and a literal look the same here.
// What it cannot see, stacks/config.ts enforces (secret config must be set with --secret). What the
// pack checks is what is checkable:
//  - a variable named like a secret may only be one the stack delivers as a Pulumi secret (the
//    allowed names); any other secret-looking variable with a value is a literal in plain config;
//  - an allowed secret must not be weak: a known placeholder or shorter than the minimum length;
//  - no variable may carry AWS access keys (functions use their execution role).
// A value still unknown at preview is skipped (it is checked again on `up`, when it is known).

export interface LambdaSecretRules {
  /** Variable names the stack sets from Pulumi secrets (e.g. JWT_SECRET). */
  allowedSecretNames: readonly string[];
  /** Values that are never acceptable (public placeholders from the old stack). */
  forbiddenValues: readonly string[];
  minSecretLength: number;
}

/** The last word of a secret's name (JWT_SECRET, GITHUB_TOKEN, DB_PASSWORD, STRIPE_API_KEY, apiKey). */
const SECRET_NAME_ENDINGS = new Set(["SECRET", "SECRETS", "TOKEN", "TOKENS", "PASSWORD", "PASSWORDS", "PASSWD", "PASSPHRASE", "KEY", "KEYS", "APIKEY", "CREDENTIAL", "CREDENTIALS"]);
const AWS_ACCESS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;

/**
 * True for names like JWT_SECRET, GITHUB_TOKEN, DB_PASSWORD, STRIPE_API_KEY, apiKey. The last word
 * decides: PASSWORD_RESET_TOKENS_TABLE_NAME or DB_SECRET_ARN name a thing, they do not hold a secret.
 */
export function looksLikeSecretName(name: string): boolean {
  const parts = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter(Boolean);
  return parts.length > 0 && SECRET_NAME_ENDINGS.has(parts[parts.length - 1]);
}

type Read = { known: true; value: unknown } | { known: false };

/**
 * Read one property, treating a value the engine does not know yet as "unknown" instead of failing
 * the whole check (the policy SDK's proxy throws `UnknownValueError` on such a read).
 */
export function readProperty(obj: unknown, key: string): Read {
  try {
    return { known: true, value: (obj as Record<string, unknown>)[key] };
  } catch (err) {
    if ((err as Error)?.name === "UnknownValueError" || (err as Error)?.constructor?.name === "UnknownValueError") return { known: false };
    throw err;
  }
}

/** `aws.lambda.Function`: see the module comment. */
export function checkLambdaEnvironment(props: Record<string, unknown>, rules: LambdaSecretRules): string[] {
  const environment = readProperty(props, "environment");
  if (!environment.known || typeof environment.value !== "object" || environment.value === null) return [];
  const variables = readProperty(environment.value, "variables");
  if (!variables.known || typeof variables.value !== "object" || variables.value === null) return [];
  const vars = variables.value as Record<string, unknown>;
  const violations: string[] = [];
  for (const name of Object.keys(vars).sort()) {
    const read = readProperty(vars, name);
    if (!read.known || typeof read.value !== "string" || read.value === "") continue;
    const value = read.value;
    // Never echo the value: a violation message ends up in CI logs and PR comments.
    if (AWS_ACCESS_KEY_ID.test(value)) {
      violations.push(`${name} contains an AWS access key; the function must use its execution role instead`);
      continue;
    }
    if (!looksLikeSecretName(name)) continue;
    if (!rules.allowedSecretNames.includes(name)) {
      violations.push(
        `${name} looks like a secret but is not one of the variables the stack sets from Pulumi secrets (${rules.allowedSecretNames.join(", ")}); ` +
          "deliver it as a Pulumi secret and allow it in the policy config, or read it at run time from Secrets Manager",
      );
    } else if (rules.forbiddenValues.includes(value)) {
      violations.push(`${name} is set to a publicly known placeholder value; set a real secret with pulumi config set --secret`);
    } else if (value.length < rules.minSecretLength) {
      violations.push(`${name} is shorter than ${rules.minSecretLength} characters`);
    }
  }
  return violations;
}
