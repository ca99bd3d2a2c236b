// Secrets are never in a Lambda function's environment.
//
// A function's environment is plain to anyone with `lambda:GetFunctionConfiguration` (ReadOnlyAccess
// has it), whether or not the value was a Pulumi secret. So the stack keeps each secret in SSM
// Parameter Store (SecureString) and passes only the parameter's name (<NAME>_PARAMETER). The engine
// hands policy packs inputs with secrets decrypted, so what is checkable is checked:
//  - a variable named like a secret (JWT_SECRET, GITHUB_TOKEN, …) with a value is a violation, unless
//    the policy config explicitly allows that name (an escape hatch, empty by default);
//  - an allowed one must still not be weak: a known placeholder or shorter than the minimum length;
//  - no variable may carry AWS access keys (functions use their execution role);
//  - an SSM parameter holding a secret is a SecureString with a strong value (checkSecretParameter).
// A value still unknown at preview is skipped (it is checked again on `up`, when it is known).

export interface LambdaSecretRules {
  /** Secret-looking variable names allowed in plain environments anyway (none by default). */
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
        `${name} looks like a secret in the function's plain environment (readable with lambda:GetFunctionConfiguration); ` +
          `keep it in SSM Parameter Store as a SecureString and pass its name as ${name}_PARAMETER`,
      );
    } else violations.push(...weakSecret(name, value, rules));
  }
  return violations;
}

function weakSecret(name: string, value: string, rules: LambdaSecretRules): string[] {
  if (rules.forbiddenValues.includes(value)) return [`${name} is set to a publicly known placeholder value; set a real secret with pulumi config set --secret`];
  if (value.length < rules.minSecretLength) return [`${name} is shorter than ${rules.minSecretLength} characters`];
  return [];
}

/**
 * `aws.ssm.Parameter` whose name ends like a secret (`/stack/JWT_SECRET`): a SecureString (encrypted
 * with KMS, never shown in plain by the console or a GetParameter without decryption) with a strong value.
 */
export function checkSecretParameter(props: Record<string, unknown>, rules: LambdaSecretRules): string[] {
  const name = readProperty(props, "name");
  if (!name.known || typeof name.value !== "string") return [];
  const last = name.value.split("/").filter(Boolean).pop() ?? "";
  if (!looksLikeSecretName(last)) return [];
  const violations: string[] = [];
  const type = readProperty(props, "type");
  if (type.known && type.value !== "SecureString") violations.push(`${last} is stored as ${String(type.value)}; a secret must be a SecureString`);
  const value = readProperty(props, "value");
  if (value.known && typeof value.value === "string" && value.value !== "") violations.push(...weakSecret(last, value.value, rules));
  return violations;
}
