import { CONFORMANCE_RULES, type ConformanceRule } from './conformance-rules.js';

const BRAND = Symbol.for('tributary.conformanceFailure');

/**
 * A conformance rule the plugin under test breaks. The message names the rule, what it demands and
 * why the plugin failed it, in words a plugin author can act on.
 */
export class ConformanceFailure extends Error {
  readonly rule: ConformanceRule;
  /** The reason alone, without the rule's name. */
  readonly why: string;

  constructor(rule: ConformanceRule, why: string, options: { cause?: unknown } = {}) {
    super(`conformance rule '${rule}' failed (${CONFORMANCE_RULES[rule]}):\n  ${why.replace(/\n/g, '\n  ')}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConformanceFailure';
    this.rule = rule;
    this.why = why;
    // The kit's own frames tell a plugin author nothing: show the message alone.
    this.stack = `${this.name}: ${this.message}`;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Throws a {@link ConformanceFailure}: the plugin breaks `rule`, because `why`. */
export function conformanceFailure(rule: ConformanceRule, why: string, cause?: unknown): never {
  throw new ConformanceFailure(rule, why, cause === undefined ? {} : { cause });
}

/** True for a ConformanceFailure (optionally of one rule), from whichever copy of the kit made it. */
export function isConformanceFailure(value: unknown, rule?: ConformanceRule): value is ConformanceFailure {
  if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return rule === undefined || (value as ConformanceFailure).rule === rule;
}
