import picomatch from 'picomatch';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/**
 * The unit filter language of `units add|remove --filter`, `copy --filter` and their Host methods:
 * comparisons of a unit's key and metadata fields, joined with `and`, `or`, `not` and parentheses.
 *
 * ```text
 * name=kernel*                       glob: * ? [abc] {a,b}  (* also matches '/')
 * name!=kernel-debug*                not equal (a unit without the field matches)
 * arch in (x86_64, noarch)           any of the values (each may be a glob)
 * arch not in (i686, src)
 * not (name=foo* or epoch!=0) and metadata.summary="hello world"
 * ```
 *
 * - A field is a key field or a metadata field: `name` looks in the key, then in the metadata;
 *   `key.name` and `metadata.summary` say which. Dots go into nested objects (`metadata.location.href`).
 *   A field whose value is a list matches when any element does; numbers and booleans compare
 *   as their text (`epoch=0`). A missing field equals nothing.
 * - A bare value with `*`, `?`, `[…]` or `{…}` is a glob (matched whole, case-sensitive); any other
 *   value compares exactly. A quoted value ('…' or "…", `\` escapes the quote and itself) is always
 *   compared exactly, and may hold spaces, parentheses, commas, `=` and `!`.
 * - `and` binds tighter than `or`; `not` tighter than both. Keywords are case-insensitive.
 *
 * A filter that does not parse is TRIBUTARY_ERR_FILTER_INVALID naming the position (details:
 * `position`, 0-based, and `column`, 1-based) and what was expected there.
 */
export interface UnitFilter {
  /** The filter as given. */
  readonly text: string;
  /** Whether the unit (its key and metadata) matches. */
  matches(unit: FilterableUnit): boolean;
}

export interface FilterableUnit {
  readonly key: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** The filter's syntax tree. */
export type FilterNode =
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode }
  | { readonly kind: 'compare'; readonly field: string; readonly op: '=' | '!='; readonly value: FilterValue }
  | { readonly kind: 'in'; readonly field: string; readonly negated: boolean; readonly values: readonly FilterValue[] };

/** A value to compare with: its text, and whether it is a glob (bare, with glob characters). */
export interface FilterValue {
  readonly text: string;
  readonly glob: boolean;
}

/** Parses and compiles a filter (TRIBUTARY_ERR_FILTER_INVALID when it does not parse). */
export function compileFilter(text: string): UnitFilter {
  const tree = parseFilter(text);
  const test = compile(tree);
  return { text, matches: (unit) => test(unit) };
}

type TokenKind = '(' | ')' | ',' | '=' | '!=' | 'word' | 'quoted' | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly position: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in']);
const FIELD = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Characters that end a bare word. */
const DELIMITERS = new Set(['(', ')', ',', '=', '!', "'", '"']);

/** Parses a filter into its tree: a small recursive descent over the tokens. */
export function parseFilter(text: string): FilterNode {
  if (typeof text !== 'string') throw invalid(String(text), 0, 'a filter expression', 'no text');
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token => tokens[at]!;
  const next = (): Token => tokens[at++]!;
  const isKeyword = (token: Token, keyword: string) => token.kind === 'word' && token.text.toLowerCase() === keyword;
  const fail = (token: Token, expected: string): never => {
    throw invalid(text, token.position, expected, describe(token));
  };

  const parseOr = (): FilterNode => {
    let left = parseAnd();
    while (isKeyword(peek(), 'or')) {
      next();
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): FilterNode => {
    let left = parseUnary();
    while (isKeyword(peek(), 'and')) {
      next();
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): FilterNode => {
    if (isKeyword(peek(), 'not')) {
      next();
      return { kind: 'not', operand: parseUnary() };
    }
    if (peek().kind === '(') {
      next();
      const inner = parseOr();
      if (peek().kind !== ')') fail(peek(), "')' or 'and'/'or'");
      next();
      return inner;
    }
    return parseComparison();
  };
  const parseValue = (): FilterValue => {
    const token = peek();
    if (token.kind === 'quoted') {
      next();
      return { text: token.text, glob: false };
    }
    if (token.kind === 'word') {
      next();
      return { text: token.text, glob: picomatch.scan(token.text).isGlob };
    }
    return fail(token, 'a value (a word or a quoted string)');
  };
  const parseComparison = (): FilterNode => {
    const token = peek();
    if (token.kind !== 'word' || KEYWORDS.has(token.text.toLowerCase()) || !FIELD.test(token.text)) {
      return fail(token, "a field name (e.g. name, arch, metadata.summary), 'not' or '('");
    }
    next();
    const field = token.text;
    const operator = peek();
    if (operator.kind === '=' || operator.kind === '!=') {
      next();
      return { kind: 'compare', field, op: operator.kind, value: parseValue() };
    }
    let negated = false;
    if (isKeyword(operator, 'not')) {
      next();
      negated = true;
      if (!isKeyword(peek(), 'in')) fail(peek(), "'in' after 'not'");
    }
    if (isKeyword(peek(), 'in')) {
      next();
      if (peek().kind !== '(') fail(peek(), "'(' to start the list of values");
      next();
      const values = [parseValue()];
      while (peek().kind === ',') {
        next();
        values.push(parseValue());
      }
      if (peek().kind !== ')') fail(peek(), "',' or ')' in the list of values");
      next();
      return { kind: 'in', field, negated, values };
    }
    return fail(operator, `'=', '!=', 'in' or 'not in' after field '${field}'`);
  };

  if (peek().kind === 'end') fail(peek(), 'a filter expression');
  const tree = parseOr();
  if (peek().kind !== 'end') fail(peek(), "'and', 'or' or the end of the filter");
  return tree;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at]!;
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    if (char === '(' || char === ')' || char === ',' || char === '=') {
      tokens.push({ kind: char, text: char, position: at++ });
      continue;
    }
    if (char === '!') {
      if (text[at + 1] !== '=') throw invalid(text, at, "'!=' (a lone '!' is no operator; quote a value that holds one)", `'!'`);
      tokens.push({ kind: '!=', text: '!=', position: at });
      at += 2;
      continue;
    }
    if (char === "'" || char === '"') {
      const start = at++;
      let value = '';
      for (;;) {
        if (at >= text.length) throw invalid(text, start, `a closing ${char} for the string started here`, 'the end of the filter');
        const c = text[at++]!;
        if (c === char) break;
        if (c === '\\' && (text[at] === char || text[at] === '\\')) value += text[at++];
        else value += c;
      }
      tokens.push({ kind: 'quoted', text: value, position: start });
      continue;
    }
    const start = at;
    // a comma inside a glob's braces ({a,b}) belongs to the word, not to a list of values
    let braces = 0;
    while (at < text.length && !/\s/.test(text[at]!) && (!DELIMITERS.has(text[at]!) || (text[at] === ',' && braces > 0))) {
      if (text[at] === '{') braces++;
      else if (text[at] === '}' && braces > 0) braces--;
      at++;
    }
    tokens.push({ kind: 'word', text: text.slice(start, at), position: start });
  }
  tokens.push({ kind: 'end', text: '', position: text.length });
  return tokens;
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the filter';
  if (token.kind === 'quoted') return `the string ${JSON.stringify(token.text)}`;
  return `'${token.text}'`;
}

function invalid(text: string, position: number, expected: string, found: string): TributaryError {
  const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return new TributaryError(
    ErrorCodes.FILTER_INVALID,
    `filter ${JSON.stringify(shown)} is malformed at character ${position + 1}: expected ${expected}, found ${found}`,
    { details: { filter: shown, position, column: position + 1, expected, found } },
  );
}

type Test = (unit: FilterableUnit) => boolean;

function compile(node: FilterNode): Test {
  switch (node.kind) {
    case 'and': {
      const [left, right] = [compile(node.left), compile(node.right)];
      return (unit) => left(unit) && right(unit);
    }
    case 'or': {
      const [left, right] = [compile(node.left), compile(node.right)];
      return (unit) => left(unit) || right(unit);
    }
    case 'not': {
      const operand = compile(node.operand);
      return (unit) => !operand(unit);
    }
    case 'compare': {
      const matches = matcherOf([node.value]);
      const read = fieldReader(node.field);
      return node.op === '=' ? (unit) => anyMatches(read(unit), matches) : (unit) => !anyMatches(read(unit), matches);
    }
    case 'in': {
      const matches = matcherOf(node.values);
      const read = fieldReader(node.field);
      return node.negated ? (unit) => !anyMatches(read(unit), matches) : (unit) => anyMatches(read(unit), matches);
    }
  }
}

/** One test of a text against any of the values: globs compiled once (picomatch), exact values by set. */
function matcherOf(values: readonly FilterValue[]): (text: string) => boolean {
  const exact = new Set(values.filter((v) => !v.glob).map((v) => v.text));
  // `bash`: a star also matches '/' (paths are values here, not file names); no extglobs, no negation
  const globs = values.filter((v) => v.glob).map((v) => picomatch(v.text, { bash: true, dot: true, nonegate: true, noextglob: true }));
  return (text) => exact.has(text) || globs.some((glob) => glob(text));
}

function anyMatches(value: unknown, matches: (text: string) => boolean): boolean {
  if (Array.isArray(value)) return value.some((element) => anyMatches(element, matches));
  if (typeof value === 'string') return matches(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return matches(String(value));
  return false;
}

/** How a field name reads a unit: `key.…`, `metadata.…`, or the key and then the metadata. */
function fieldReader(field: string): (unit: FilterableUnit) => unknown {
  if (field.startsWith('key.')) {
    const path = field.slice('key.'.length);
    return (unit) => lookUp(unit.key, path);
  }
  if (field.startsWith('metadata.')) {
    const path = field.slice('metadata.'.length);
    return (unit) => lookUp(unit.metadata, path);
  }
  return (unit) => {
    const inKey = lookUp(unit.key, field);
    return inKey !== undefined ? inKey : lookUp(unit.metadata, field);
  };
}

/** `path` in `value`: the whole path as one name first, else its first dotted part and the rest inside that. */
function lookUp(value: unknown, path: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, path)) return record[path];
  const dot = path.indexOf('.');
  if (dot <= 0) return undefined;
  const head = path.slice(0, dot);
  return Object.hasOwn(record, head) ? lookUp(record[head], path.slice(dot + 1)) : undefined;
}
