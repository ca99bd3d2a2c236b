// The one naming rule of the stack. Physical names (what AWS shows) are `<project>-<stack>-<name>`, so
// several stacks share an account; logical names of a component's children derive from the component's
// own name, so two instances of a component never register the same URN.
import * as pulumi from "@pulumi/pulumi";

/** `<project>-<stack>`: the prefix of every physical name of this stack. */
export function stackPrefix(): string {
  return `${pulumi.getProject()}-${pulumi.getStack()}`;
}

/** `<project>-<stack>-<name>` (prefix from `stackPrefix()`). */
export function physicalName(prefix: string, name: string): string {
  return `${prefix}-${name}`;
}

/** A child's logical name: the component's name itself for its main resource, else `<component>-<child>`. */
export function childName(component: string, child?: string): string {
  return child === undefined || child === component ? component : `${component}-${child}`;
}

/**
 * Options for a child whose logical name changed when names began to derive from the component: the
 * alias keeps the existing resource (no delete and re-create of a table or a named log group). Only the
 * instance named as the program always named it has such history; other instances get no alias, so two
 * instances never claim the same old URN.
 */
export function renamedFrom(component: string, originalComponent: string, previousName: string, current: string): Pick<pulumi.ResourceOptions, "aliases"> {
  return component !== originalComponent || previousName === current ? {} : { aliases: [{ name: previousName }] };
}
