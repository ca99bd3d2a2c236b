// process.env changes a test makes and undoes: the value each name had before its first change is kept,
// so any number of changes are put back by one `restore()`.

export interface EnvPatch {
  /** Sets each variable; `undefined` removes it. */
  set(vars: Record<string, string | undefined>): void;
  /** Puts back every changed variable as it was (removed if it was absent). */
  restore(): void;
}

export function envPatch(): EnvPatch {
  const saved = new Map<string, string | undefined>();
  const put = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  return {
    set(vars) {
      for (const [name, value] of Object.entries(vars)) {
        if (!saved.has(name)) saved.set(name, process.env[name]);
        put(name, value);
      }
    },
    restore() {
      for (const [name, value] of saved) put(name, value);
      saved.clear();
    },
  };
}
