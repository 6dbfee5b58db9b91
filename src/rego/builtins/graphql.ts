/**
 * GraphQL built-ins (`graphql.parse`, `graphql.parse_query`, `graphql.parse_schema`, `graphql.parse_and_verify`,
 * `graphql.is_valid`, `graphql.schema_is_valid`), compatible with OPA.
 *
 * OPA backs these with (its vendored copy of) Go's gqlparser, and its results follow gqlparser: the AST JSON layout
 * (`Operations`, `Fragments`, `Definitions`, Go field names, `Position` dropped, null/empty members pruned), the parse
 * error wording (`Expected Name, found <EOF>`), and the schema rules (extending an undefined type defines it, no
 * `Query` type is required). So:
 * - tokens come from graphql-js's lexer (`Lexer`), and a small recursive-descent parser on top of it builds
 *   gqlparser-shaped documents with gqlparser's grammar decisions and messages;
 * - schemas are checked by gqlparser's schema rules (ported below: `loadSchema`);
 * - queries are validated by graphql-js's `validate` (gqlparser's query rules are ports of graphql-js's, with the
 *   same messages) against a graphql-js schema built from the loaded schema.
 * AST objects (the output of `parse_query`/`parse_schema`) are accepted wherever OPA accepts them.
 */
import {
  Kind,
  Lexer,
  Source,
  GraphQLError,
  buildASTSchema,
  specifiedRules,
  validate,
} from 'graphql';
import type {
  ArgumentNode,
  DefinitionNode,
  DirectiveNode,
  DocumentNode,
  FieldDefinitionNode,
  InputValueDefinitionNode,
  NameNode,
  NamedTypeNode,
  OperationTypeNode,
  OperationTypeDefinitionNode,
  SelectionNode,
  SelectionSetNode,
  TypeNode,
  ValidationContext,
  ASTVisitor,
  ValueNode,
  VariableDefinitionNode,
  Location,
  GraphQLSchema,
} from 'graphql';
import { RegoObject, fromJSON, toJSON } from '../value.js';
import type { Value, JsonValue } from '../value.js';
import { BuiltinError, BuiltinTypeError } from './types.js';
import type { BuiltinDef } from './types.js';

// ---------------------------------------------------------------------------------------------------------------
// gqlparser-shaped documents (Go field names; `Position` is internal and never returned)

interface Pos {
  Line: number;
  Column: number;
  /** UTF-16 offset into the source, for graphql-js error locations. */
  Start: number;
}

type Obj = { [k: string]: unknown };

/** ValueKind numbering of gqlparser (`Variable` = 0 … `ObjectValue` = 9). */
const VK = { Variable: 0, Int: 1, Float: 2, String: 3, Block: 4, Boolean: 5, Null: 6, Enum: 7, List: 8, Object: 9 } as const;

export class GqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'GqlSyntaxError';
  }
}

/** A schema that gqlparser's schema rules reject (OPA: `Error in gqlparser SchemaDocument to Schema conversion`). */
export class GqlSchemaError extends Error {
  constructor(
    message: string,
    readonly pos: Pos | undefined,
  ) {
    super(message);
    this.name = 'GqlSchemaError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens: graphql-js lexer, positions and kinds as gqlparser reports them

interface Tok {
  kind: string; // gqlparser Kind.String(): 'Name', 'Int', '{', '<EOF>', '<Invalid>', …
  value: string;
  line: number;
  column: number;
  start: number;
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

class TokenStream {
  private readonly lexer: Lexer;
  private readonly body: string;
  private failed: Tok | undefined;

  constructor(readonly source: Source) {
    this.lexer = new Lexer(source);
    this.body = source.body;
  }

  read(): Tok {
    if (this.failed) return this.failed;
    let t;
    try {
      t = this.lexer.advance();
    } catch (e) {
      // A lexing error: gqlparser returns an <Invalid> token at the error position.
      const loc = e instanceof GraphQLError ? e.locations?.[0] : undefined;
      this.failed = { kind: '<Invalid>', value: '', line: loc?.line ?? 1, column: loc?.column ?? 1, start: this.body.length };
      return this.failed;
    }
    const lineStart = t.start - (t.column - 1);
    let line = t.line;
    let column = runeCount(this.body.slice(lineStart, t.start)) + 1;
    let kind: string = t.kind;
    let value = t.value ?? '';
    switch (t.kind) {
      case '<EOF>':
        value = '';
        break;
      case 'String':
        column += 1; // gqlparser positions a string after its opening quote
        break;
      case 'BlockString': {
        // gqlparser positions a block string after its opening quotes, on the line where it ends
        const text = this.body.slice(t.start, t.end);
        const breaks = text.match(/\r\n|\r|\n/g);
        if (breaks && breaks.length > 0) {
          line += breaks.length;
          const lastBreak = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
          const lastLineStart = t.start + lastBreak + 1;
          column = 1 - runeCount(this.body.slice(t.start + 3, lastLineStart));
        } else {
          column += 3;
        }
        break;
      }
      case 'Name':
      case 'Int':
      case 'Float':
      case '!':
      case '$':
      case '&':
      case '(':
      case ')':
      case '...':
      case ':':
      case '=':
      case '@':
      case '[':
      case ']':
      case '{':
      case '|':
      case '}':
        break;
      default:
        kind = '<Invalid>';
        value = '';
        this.failed = { kind, value, line, column, start: t.start };
        return this.failed;
    }
    return { kind, value, line, column, start: t.start };
  }
}

/** Go's strconv.Quote for the characters that occur in tokens (printable text as is). */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function tokString(t: Tok): string {
  return t.value !== '' ? `${t.kind} ${goQuote(t.value)}` : t.kind;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser: gqlparser's grammar (parser/query.go, parser/schema.go), stopping at the first error

class Parser {
  private readonly tokens: TokenStream;
  private peeked: Tok | undefined;
  private prev: Tok | undefined;

  constructor(source: Source) {
    this.tokens = new TokenStream(source);
  }

  private peek(): Tok {
    if (!this.peeked) this.peeked = this.tokens.read();
    return this.peeked;
  }

  private next(): Tok {
    const t = this.peek();
    if (t.kind === '<Invalid>') throw this.errorAt(t, `Unexpected ${tokString(t)}`);
    this.peeked = undefined;
    this.prev = t;
    return t;
  }

  private pos(t: Tok = this.peek()): Pos {
    return { Line: t.line, Column: t.column, Start: t.start };
  }

  private errorAt(t: Tok, message: string): GqlSyntaxError {
    return new GqlSyntaxError(message, t.line, t.column);
  }

  private unexpected(t: Tok = this.peek()): never {
    throw this.errorAt(t, `Unexpected ${tokString(t)}`);
  }

  private expect(kind: string): Tok {
    const t = this.peek();
    if (t.kind === kind) return this.next();
    throw this.errorAt(t, `Expected ${kind}, found ${t.kind}`);
  }

  private expectKeyword(value: string): Tok {
    const t = this.peek();
    if (t.kind === 'Name' && t.value === value) return this.next();
    throw this.errorAt(t, `Expected ${goQuote(value)}, found ${tokString(t)}`);
  }

  private skip(kind: string): boolean {
    if (this.peek().kind !== kind) return false;
    this.next();
    return true;
  }

  private many<T>(start: string, end: string, cb: () => T): T[] {
    const out: T[] = [];
    if (!this.skip(start)) return out;
    while (this.peek().kind !== end) out.push(cb());
    this.next();
    return out;
  }

  private some<T>(start: string, end: string, cb: () => T): T[] {
    const out: T[] = [];
    if (!this.skip(start)) return out;
    while (this.peek().kind !== end) out.push(cb());
    if (out.length === 0) throw this.errorAt(this.peek(), `expected at least one definition, found ${this.peek().kind}`);
    this.next();
    return out;
  }

  // --- query documents

  parseQueryDocument(): Obj {
    const operations: Obj[] = [];
    const fragments: Obj[] = [];
    while (this.peek().kind !== '<EOF>') {
      const t = this.peek();
      if (t.kind === 'Name') {
        if (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription') operations.push(this.parseOperationDefinition());
        else if (t.value === 'fragment') fragments.push(this.parseFragmentDefinition());
        else this.unexpected();
      } else if (t.kind === '{') {
        operations.push(this.parseOperationDefinition());
      } else {
        this.unexpected();
      }
    }
    return { Operations: operations, Fragments: fragments };
  }

  private parseOperationDefinition(): Obj {
    if (this.peek().kind === '{') {
      const Position = this.pos();
      return { Position, Operation: 'query', Name: '', SelectionSet: this.parseRequiredSelectionSet() };
    }
    const Position = this.pos();
    const Operation = this.parseOperationType();
    let Name = '';
    if (this.peek().kind === 'Name') Name = this.next().value;
    const VariableDefinitions = this.parseVariableDefinitions();
    const Directives = this.parseDirectives(false);
    const SelectionSet = this.parseRequiredSelectionSet();
    return { Position, Operation, Name, VariableDefinitions, Directives, SelectionSet };
  }

  private parseOperationType(): string {
    const t = this.next();
    if (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription') return t.value;
    return this.unexpected(t);
  }

  private parseVariableDefinitions(): Obj[] {
    return this.many('(', ')', () => this.parseVariableDefinition());
  }

  private parseVariableDefinition(): Obj {
    const Position = this.pos();
    const Variable = this.parseVariable();
    this.expect(':');
    const Type = this.parseTypeReference();
    let DefaultValue: Obj | undefined;
    if (this.skip('=')) DefaultValue = this.parseValueLiteral(true);
    const Directives = this.parseDirectives(false);
    return { Position, Variable, Type, DefaultValue, Directives, Used: false };
  }

  private parseVariable(): string {
    this.expect('$');
    return this.parseName();
  }

  private parseRequiredSelectionSet(): Obj[] {
    const t = this.peek();
    if (t.kind !== '{') throw this.errorAt(t, `Expected {, found ${t.kind}`);
    return this.some('{', '}', () => this.parseSelection());
  }

  private parseSelection(): Obj {
    if (this.peek().kind === '...') return this.parseFragment();
    return this.parseField();
  }

  private parseField(): Obj {
    const Position = this.pos();
    const Alias = this.parseName();
    const Name = this.skip(':') ? this.parseName() : Alias;
    const Arguments = this.parseArguments(false);
    const Directives = this.parseDirectives(false);
    let SelectionSet: Obj[] | undefined;
    if (this.peek().kind === '{') SelectionSet = this.some('{', '}', () => this.parseSelection());
    return { Position, Alias, Name, Arguments, Directives, SelectionSet };
  }

  private parseArguments(isConst: boolean): Obj[] {
    return this.many('(', ')', () => {
      const Position = this.pos();
      const Name = this.parseName();
      this.expect(':');
      return { Position, Name, Value: this.parseValueLiteral(isConst) };
    });
  }

  private parseFragment(): Obj {
    this.expect('...');
    const peek = this.peek();
    if (peek.kind === 'Name' && peek.value !== 'on') {
      const Position = this.pos();
      const Name = this.parseFragmentName();
      return { Position, Name, Directives: this.parseDirectives(false) };
    }
    const Position = this.pos();
    let TypeCondition = '';
    if (this.peek().value === 'on') {
      this.next();
      TypeCondition = this.parseName();
    }
    const Directives = this.parseDirectives(false);
    const SelectionSet = this.parseRequiredSelectionSet();
    return { Position, TypeCondition, Directives, SelectionSet };
  }

  private parseFragmentDefinition(): Obj {
    const Position = this.pos();
    this.expectKeyword('fragment');
    const Name = this.parseFragmentName();
    const VariableDefinition = this.parseVariableDefinitions();
    this.expectKeyword('on');
    const TypeCondition = this.parseName();
    const Directives = this.parseDirectives(false);
    const SelectionSet = this.parseRequiredSelectionSet();
    return { Position, Name, VariableDefinition, TypeCondition, Directives, SelectionSet };
  }

  private parseFragmentName(): string {
    if (this.peek().value === 'on') this.unexpected();
    return this.parseName();
  }

  private parseValueLiteral(isConst: boolean): Obj {
    const t = this.peek();
    let kind: number;
    switch (t.kind) {
      case '[':
        return this.parseList(isConst);
      case '{':
        return this.parseObject(isConst);
      case '$':
        if (isConst) this.unexpected();
        return { Position: this.pos(t), Raw: this.parseVariable(), Kind: VK.Variable };
      case 'Int':
        kind = VK.Int;
        break;
      case 'Float':
        kind = VK.Float;
        break;
      case 'String':
        kind = VK.String;
        break;
      case 'BlockString':
        kind = VK.Block;
        break;
      case 'Name':
        kind = t.value === 'true' || t.value === 'false' ? VK.Boolean : t.value === 'null' ? VK.Null : VK.Enum;
        break;
      default:
        this.unexpected();
    }
    this.next();
    return { Position: this.pos(t), Raw: t.value, Kind: kind };
  }

  private parseList(isConst: boolean): Obj {
    const Position = this.pos();
    const Children = this.many('[', ']', () => ({ Name: '', Value: this.parseValueLiteral(isConst) }));
    return { Position, Raw: '', Children, Kind: VK.List };
  }

  private parseObject(isConst: boolean): Obj {
    const Position = this.pos();
    const Children = this.many('{', '}', () => {
      const p = this.pos();
      const Name = this.parseName();
      this.expect(':');
      return { Position: p, Name, Value: this.parseValueLiteral(isConst) };
    });
    return { Position, Raw: '', Children, Kind: VK.Object };
  }

  private parseDirectives(isConst: boolean): Obj[] {
    const out: Obj[] = [];
    while (this.peek().kind === '@') {
      this.expect('@');
      const Position = this.pos();
      const Name = this.parseName();
      out.push({ Position, Name, Arguments: this.parseArguments(isConst), Location: '' });
    }
    return out;
  }

  private parseTypeReference(): Obj {
    let t: Obj;
    if (this.skip('[')) {
      const Position = this.pos();
      const Elem = this.parseTypeReference();
      this.expect(']');
      t = { Position, NamedType: '', Elem, NonNull: false };
    } else {
      const Position = this.pos();
      t = { Position, NamedType: this.parseName(), NonNull: false };
    }
    if (this.skip('!')) {
      t.Position = this.pos();
      t.NonNull = true;
    }
    return t;
  }

  private parseName(): string {
    return this.expect('Name').value;
  }

  // --- schema documents

  parseSchemaDocument(): Obj {
    const doc = { Schema: [] as Obj[], SchemaExtension: [] as Obj[], Directives: [] as Obj[], Definitions: [] as Obj[], Extensions: [] as Obj[] };
    while (this.peek().kind !== '<EOF>') {
      let description = '';
      const k = this.peek().kind;
      if (k === 'BlockString' || k === 'String') description = this.next().value;
      if (this.peek().kind !== 'Name') this.unexpected();
      switch (this.peek().value) {
        case 'scalar':
        case 'type':
        case 'interface':
        case 'union':
        case 'enum':
        case 'input':
          doc.Definitions.push(this.parseTypeSystemDefinition(description));
          break;
        case 'schema':
          doc.Schema.push(this.parseSchemaDefinition(description));
          break;
        case 'directive':
          doc.Directives.push(this.parseDirectiveDefinition(description));
          break;
        case 'extend':
          if (description !== '') this.unexpected(this.prev!);
          this.parseTypeSystemExtension(doc);
          break;
        default:
          this.unexpected();
      }
    }
    return doc;
  }

  private parseTypeSystemDefinition(description: string): Obj {
    const kw = this.next().value;
    const Position = this.pos();
    const def: Obj = { Position, Description: description, BuiltIn: false };
    switch (kw) {
      case 'scalar':
        def.Kind = 'SCALAR';
        def.Name = this.parseName();
        def.Directives = this.parseDirectives(true);
        break;
      case 'type':
      case 'interface':
        def.Kind = kw === 'type' ? 'OBJECT' : 'INTERFACE';
        def.Name = this.parseName();
        def.Interfaces = this.parseImplementsInterfaces();
        def.Directives = this.parseDirectives(true);
        def.Fields = this.parseFieldsDefinition();
        break;
      case 'union':
        def.Kind = 'UNION';
        def.Name = this.parseName();
        def.Directives = this.parseDirectives(true);
        def.Types = this.parseUnionMemberTypes();
        break;
      case 'enum':
        def.Kind = 'ENUM';
        def.Name = this.parseName();
        def.Directives = this.parseDirectives(true);
        def.EnumValues = this.parseEnumValuesDefinition();
        break;
      default:
        def.Kind = 'INPUT_OBJECT';
        def.Name = this.parseName();
        def.Directives = this.parseDirectives(true);
        def.Fields = this.parseInputFieldsDefinition();
    }
    return def;
  }

  private parseSchemaDefinition(description: string): Obj {
    this.expectKeyword('schema');
    const Position = this.pos();
    const Directives = this.parseDirectives(true);
    const OperationTypes = this.some('{', '}', () => this.parseOperationTypeDefinition());
    return { Position, Description: description, Directives, OperationTypes };
  }

  private parseOperationTypeDefinition(): Obj {
    const Position = this.pos();
    const Operation = this.parseOperationType();
    this.expect(':');
    return { Position, Operation, Type: this.parseName() };
  }

  private parseImplementsInterfaces(): string[] {
    const out: string[] = [];
    if (this.peek().value === 'implements') {
      this.next();
      this.skip('&');
      out.push(this.parseName());
      while (this.skip('&')) out.push(this.parseName());
    }
    return out;
  }

  private parseFieldsDefinition(): Obj[] {
    return this.some('{', '}', () => {
      const Position = this.pos();
      const Description = this.parseDescription();
      const Name = this.parseName();
      const Arguments = this.parseArgumentDefs();
      this.expect(':');
      const Type = this.parseTypeReference();
      return { Position, Description, Name, Arguments, Type, Directives: this.parseDirectives(true) };
    });
  }

  private parseDescription(): string {
    const k = this.peek().kind;
    return k === 'BlockString' || k === 'String' ? this.next().value : '';
  }

  private parseArgumentDefs(): Obj[] {
    return this.some('(', ')', () => this.parseInputValueDef());
  }

  private parseInputValueDef(): Obj {
    const Position = this.pos();
    const Description = this.parseDescription();
    const Name = this.parseName();
    this.expect(':');
    const Type = this.parseTypeReference();
    let DefaultValue: Obj | undefined;
    if (this.skip('=')) DefaultValue = this.parseValueLiteral(true);
    return { Position, Description, Name, Type, DefaultValue, Directives: this.parseDirectives(true) };
  }

  private parseUnionMemberTypes(): string[] {
    const out: string[] = [];
    if (this.skip('=')) {
      this.skip('|');
      out.push(this.parseName());
      while (this.skip('|')) out.push(this.parseName());
    }
    return out;
  }

  private parseEnumValuesDefinition(): Obj[] {
    return this.some('{', '}', () => {
      const Position = this.pos();
      const Description = this.parseDescription();
      const Name = this.parseName();
      return { Position, Description, Name, Directives: this.parseDirectives(true) };
    });
  }

  private parseInputFieldsDefinition(): Obj[] {
    return this.some('{', '}', () => this.parseInputValueDef());
  }

  private parseTypeSystemExtension(doc: { SchemaExtension: Obj[]; Extensions: Obj[] }): void {
    this.expectKeyword('extend');
    const kw = this.peek().value;
    if (kw === 'schema') {
      this.next();
      const Position = this.pos();
      const Directives = this.parseDirectives(true);
      const OperationTypes = this.some('{', '}', () => this.parseOperationTypeDefinition());
      if (Directives.length === 0 && OperationTypes.length === 0) this.unexpected();
      doc.SchemaExtension.push({ Position, Description: '', Directives, OperationTypes });
      return;
    }
    if (!['scalar', 'type', 'interface', 'union', 'enum', 'input'].includes(kw)) this.unexpected();
    this.next();
    const Position = this.pos();
    const def: Obj = { Position, Description: '', BuiltIn: false };
    let empty: boolean;
    switch (kw) {
      case 'scalar': {
        def.Kind = 'SCALAR';
        def.Name = this.parseName();
        const d = (def.Directives = this.parseDirectives(true));
        empty = d.length === 0;
        break;
      }
      case 'type': {
        def.Kind = 'OBJECT';
        def.Name = this.parseName();
        const i = (def.Interfaces = this.parseImplementsInterfaces());
        const d = (def.Directives = this.parseDirectives(true));
        const f = (def.Fields = this.parseFieldsDefinition());
        empty = i.length === 0 && d.length === 0 && f.length === 0;
        break;
      }
      case 'interface': {
        def.Kind = 'INTERFACE';
        def.Name = this.parseName();
        const d = (def.Directives = this.parseDirectives(true));
        const f = (def.Fields = this.parseFieldsDefinition());
        empty = d.length === 0 && f.length === 0;
        break;
      }
      case 'union': {
        def.Kind = 'UNION';
        def.Name = this.parseName();
        const d = (def.Directives = this.parseDirectives(true));
        const t = (def.Types = this.parseUnionMemberTypes());
        empty = d.length === 0 && t.length === 0;
        break;
      }
      case 'enum': {
        def.Kind = 'ENUM';
        def.Name = this.parseName();
        const d = (def.Directives = this.parseDirectives(true));
        const v = (def.EnumValues = this.parseEnumValuesDefinition());
        empty = d.length === 0 && v.length === 0;
        break;
      }
      default: {
        def.Kind = 'INPUT_OBJECT';
        def.Name = this.parseName();
        const d = (def.Directives = this.parseDirectives(false));
        const f = (def.Fields = this.parseInputFieldsDefinition());
        empty = d.length === 0 && f.length === 0;
      }
    }
    if (empty) this.unexpected();
    doc.Extensions.push(def);
  }

  private parseDirectiveDefinition(description: string): Obj {
    this.expectKeyword('directive');
    this.expect('@');
    const Position = this.pos();
    const Name = this.parseName();
    const Arguments = this.parseArgumentDefs();
    let IsRepeatable = false;
    const peek = this.peek();
    if (peek.kind === 'Name' && peek.value === 'repeatable') {
      IsRepeatable = true;
      this.next();
    }
    this.expectKeyword('on');
    this.skip('|');
    const Locations = [this.parseDirectiveLocation()];
    while (this.skip('|')) Locations.push(this.parseDirectiveLocation());
    return { Position, Description: description, Name, Arguments, Locations, IsRepeatable };
  }

  private parseDirectiveLocation(): string {
    const t = this.expect('Name');
    if (DIRECTIVE_LOCATIONS.has(t.value)) return t.value;
    return this.unexpected(t);
  }
}

const DIRECTIVE_LOCATIONS = new Set([
  'QUERY',
  'MUTATION',
  'SUBSCRIPTION',
  'FIELD',
  'FRAGMENT_DEFINITION',
  'FRAGMENT_SPREAD',
  'INLINE_FRAGMENT',
  'VARIABLE_DEFINITION',
  'SCHEMA',
  'SCALAR',
  'OBJECT',
  'FIELD_DEFINITION',
  'ARGUMENT_DEFINITION',
  'INTERFACE',
  'UNION',
  'ENUM',
  'ENUM_VALUE',
  'INPUT_OBJECT',
  'INPUT_FIELD_DEFINITION',
]);

export interface ParsedQuery {
  doc: Obj;
  source?: Source;
}

export function parseQueryText(text: string): ParsedQuery {
  const source = new Source(text);
  return { doc: new Parser(source).parseQueryDocument(), source };
}

export function parseSchemaText(text: string): Obj {
  return new Parser(new Source(text)).parseSchemaDocument();
}

// ---------------------------------------------------------------------------------------------------------------
// JSON output: OPA drops `Position`, nulls, and empty arrays/objects (recursively)

export function pruneAst(x: unknown): JsonValue | undefined {
  if (x === null || x === undefined) return undefined;
  if (Array.isArray(x)) {
    const out: JsonValue[] = [];
    for (const e of x) {
      const p = pruneAst(e);
      if (p === undefined) continue;
      if (Array.isArray(p) && p.length === 0) continue;
      if (p !== null && typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0) continue;
      out.push(p);
    }
    return out;
  }
  if (typeof x === 'object') {
    const out: { [k: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(x as Obj)) {
      if (k === 'Position') continue;
      const p = pruneAst(v);
      if (p === undefined) continue;
      if (Array.isArray(p) && p.length === 0) continue;
      if (p !== null && typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0) continue;
      out[k] = p;
    }
    return out;
  }
  if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') return x;
  return undefined;
}

function astValue(doc: Obj): Value {
  return fromJSON(pruneAst(doc) ?? {});
}

// ---------------------------------------------------------------------------------------------------------------
// Reading documents back (AST objects given as operands, or our own parse results)

function str(x: unknown): string {
  return typeof x === 'string' ? x : '';
}
function list(x: unknown): Obj[] {
  return Array.isArray(x) ? (x.filter((e) => e !== null && typeof e === 'object' && !Array.isArray(e)) as Obj[]) : [];
}
function strList(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((e): e is string => typeof e === 'string') : [];
}
function objOf(x: unknown): Obj | undefined {
  return x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Obj) : undefined;
}
function posOf(x: Obj | undefined): Pos | undefined {
  const p = x ? objOf(x.Position) : undefined;
  return p && typeof p.Line === 'number' ? (p as unknown as Pos) : undefined;
}

/** gqlparser `Type.Name()`: the innermost named type. */
function typeName(t: Obj | undefined): string {
  let cur = t;
  for (let i = 0; cur && i < 100; i++) {
    if (str(cur.NamedType) !== '') return str(cur.NamedType);
    cur = objOf(cur.Elem);
  }
  return '';
}

/** gqlparser `Type.String()`. */
function typeString(t: Obj | undefined): string {
  if (!t) return '';
  const nn = t.NonNull === true ? '!' : '';
  if (str(t.NamedType) !== '') return str(t.NamedType) + nn;
  return `[${typeString(objOf(t.Elem))}]${nn}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Schema loading: gqlparser's ValidateSchemaDocument (with its prelude), on gqlparser-shaped documents

const PRELUDE_SDL = `
scalar Int
scalar Float
scalar String
scalar Boolean
scalar ID

directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @deprecated(reason: String = "No longer supported") on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE
directive @specifiedBy(url: String!) on SCALAR

type __Schema {
  description: String
  types: [__Type!]!
  queryType: __Type!
  mutationType: __Type
  subscriptionType: __Type
  directives: [__Directive!]!
}

type __Type {
  kind: __TypeKind!
  name: String
  description: String
  fields(includeDeprecated: Boolean = false): [__Field!]
  interfaces: [__Type!]
  possibleTypes: [__Type!]
  enumValues(includeDeprecated: Boolean = false): [__EnumValue!]
  inputFields: [__InputValue!]
  ofType: __Type
  specifiedByURL: String
}

type __Field {
  name: String!
  description: String
  args: [__InputValue!]!
  type: __Type!
  isDeprecated: Boolean!
  deprecationReason: String
}

type __InputValue {
  name: String!
  description: String
  type: __Type!
  defaultValue: String
}

type __EnumValue {
  name: String!
  description: String
  isDeprecated: Boolean!
  deprecationReason: String
}

enum __TypeKind {
  SCALAR
  OBJECT
  INTERFACE
  UNION
  ENUM
  INPUT_OBJECT
  LIST
  NON_NULL
}

type __Directive {
  name: String!
  description: String
  locations: [__DirectiveLocation!]!
  args: [__InputValue!]!
  isRepeatable: Boolean!
}

enum __DirectiveLocation {
  QUERY
  MUTATION
  SUBSCRIPTION
  FIELD
  FRAGMENT_DEFINITION
  FRAGMENT_SPREAD
  INLINE_FRAGMENT
  VARIABLE_DEFINITION
  SCHEMA
  SCALAR
  OBJECT
  FIELD_DEFINITION
  ARGUMENT_DEFINITION
  INTERFACE
  UNION
  ENUM
  ENUM_VALUE
  INPUT_OBJECT
  INPUT_FIELD_DEFINITION
}
`;

const BUILTIN_DIRECTIVES = new Set(['include', 'skip', 'deprecated', 'specifiedBy']);

let preludeDoc: Obj | undefined;
function prelude(): Obj {
  if (!preludeDoc) {
    const doc = parseSchemaText(PRELUDE_SDL);
    for (const d of list(doc.Definitions)) d.BuiltIn = true;
    preludeDoc = doc;
  }
  return preludeDoc;
}

interface TypeDef {
  Kind: string;
  Name: string;
  BuiltIn: boolean;
  Directives: Obj[];
  Interfaces: string[];
  Fields: Obj[];
  Types: string[];
  EnumValues: Obj[];
  Position?: Pos;
}

export interface LoadedSchema {
  types: Map<string, TypeDef>;
  directives: Map<string, Obj>;
  query?: string;
  mutation?: string;
  subscription?: string;
}

function typeDefOf(d: Obj): TypeDef {
  return {
    Kind: str(d.Kind),
    Name: str(d.Name),
    BuiltIn: d.BuiltIn === true,
    Directives: list(d.Directives),
    Interfaces: strList(d.Interfaces),
    Fields: list(d.Fields),
    Types: strList(d.Types),
    EnumValues: list(d.EnumValues),
    Position: posOf(d),
  };
}

const INPUT_KINDS = new Set(['SCALAR', 'ENUM', 'INPUT_OBJECT']);

/** Loads a schema document (merged with the prelude) by gqlparser's rules; throws GqlSchemaError. */
export function loadSchema(doc: Obj): LoadedSchema {
  const pre = prelude();
  const definitions = [...list(pre.Definitions), ...list(doc.Definitions)];
  const extensions = [...list(pre.Extensions), ...list(doc.Extensions)];
  const directiveDefs = [...list(pre.Directives), ...list(doc.Directives)];
  const schemaDefs = [...list(pre.Schema), ...list(doc.Schema)];
  const schemaExts = [...list(pre.SchemaExtension), ...list(doc.SchemaExtension)];
  const fail = (pos: Pos | undefined, msg: string): never => {
    throw new GqlSchemaError(msg, pos);
  };

  const types = new Map<string, TypeDef>();
  const defs: TypeDef[] = [];
  for (const d of definitions) {
    const td = typeDefOf(d);
    if (types.has(td.Name)) fail(td.Position, `Cannot redeclare type ${td.Name}.`);
    types.set(td.Name, td);
    defs.push(td);
  }
  for (const e of extensions) {
    const ext = typeDefOf(e);
    let def = types.get(ext.Name);
    if (!def) {
      def = { Kind: ext.Kind, Name: ext.Name, BuiltIn: false, Directives: [], Interfaces: [], Fields: [], Types: [], EnumValues: [], Position: ext.Position };
      types.set(ext.Name, def);
      defs.push(def);
    }
    if (def.Kind !== ext.Kind) fail(ext.Position, `Cannot extend type ${ext.Name} because the base type is a ${def.Kind}, not ${ext.Kind}.`);
    def.Directives = [...def.Directives, ...ext.Directives];
    def.Interfaces = [...def.Interfaces, ...ext.Interfaces];
    def.Fields = [...def.Fields, ...ext.Fields];
    def.Types = [...def.Types, ...ext.Types];
    def.EnumValues = [...def.EnumValues, ...ext.EnumValues];
  }

  // possible types (for covariance checks)
  const possible = new Map<string, Set<string>>();
  const addPossible = (name: string, t: string) => {
    const s = possible.get(name) ?? new Set<string>();
    s.add(t);
    possible.set(name, s);
  };
  for (const def of defs) {
    if (def.Kind === 'UNION') for (const t of def.Types) addPossible(def.Name, t);
    else if (def.Kind === 'OBJECT' || def.Kind === 'INPUT_OBJECT') {
      for (const i of def.Interfaces) addPossible(i, def.Name);
      addPossible(def.Name, def.Name);
    } else if (def.Kind === 'INTERFACE') for (const i of def.Interfaces) addPossible(i, def.Name);
  }

  const directives = new Map<string, Obj>();
  for (const dir of directiveDefs) {
    const name = str(dir.Name);
    if (directives.has(name)) {
      if (BUILTIN_DIRECTIVES.has(name)) continue; // keep the first (the prelude's)
      fail(posOf(dir), `Cannot redeclare directive ${name}.`);
    }
    directives.set(name, dir);
  }

  const loaded: LoadedSchema = { types, directives };
  if (schemaDefs.length > 1) fail(posOf(schemaDefs[1]), 'Cannot have multiple schema entry points, consider schema extensions instead.');
  const setRoots = (ops: Obj[]) => {
    for (const ep of ops) {
      const op = str(ep.Operation);
      const t = str(ep.Type);
      if (!types.has(t)) fail(posOf(ep), `Schema root ${op} refers to a type ${t} that does not exist.`);
      if (op === 'query') loaded.query = t;
      else if (op === 'mutation') loaded.mutation = t;
      else if (op === 'subscription') loaded.subscription = t;
    }
  };
  if (schemaDefs.length === 1) setRoots(list(schemaDefs[0]!.OperationTypes));
  for (const ext of schemaExts) setRoots(list(ext.OperationTypes));

  for (const name of [...types.keys()].sort()) validateDefinition(loaded, types.get(name)!, possible, fail);
  for (const name of [...directives.keys()].sort()) {
    const dir = directives.get(name)!;
    validateName(posOf(dir), name, fail);
    validateArgs(loaded, list(dir.Arguments), dir, fail);
  }

  if (schemaDefs.length === 0) {
    if (!loaded.query && types.has('Query')) loaded.query = 'Query';
    if (!loaded.mutation && types.has('Mutation')) loaded.mutation = 'Mutation';
    if (!loaded.subscription && types.has('Subscription')) loaded.subscription = 'Subscription';
  }
  return loaded;
}

type Fail = (pos: Pos | undefined, msg: string) => never;

function validateName(pos: Pos | undefined, name: string, fail: Fail): void {
  if (name.startsWith('__')) fail(pos, `Name "${name}" must not begin with "__", which is reserved by GraphQL introspection.`);
}

function validateTypeRef(s: LoadedSchema, t: Obj | undefined, fail: Fail): void {
  const n = typeName(t);
  if (!s.types.has(n)) fail(posOf(t), `Undefined type ${n}.`);
}

function validateArgs(s: LoadedSchema, args: Obj[], current: Obj | undefined, fail: Fail): void {
  for (const arg of args) {
    validateName(posOf(arg), str(arg.Name), fail);
    const t = objOf(arg.Type);
    validateTypeRef(s, t, fail);
    const def = s.types.get(typeName(t))!;
    if (!INPUT_KINDS.has(def.Kind)) {
      fail(posOf(arg), `cannot use ${typeString(t)} as argument ${str(arg.Name)} because ${def.Kind} is not a valid input type`);
    }
    validateDirectives(s, list(arg.Directives), 'ARGUMENT_DEFINITION', current, fail);
  }
}

function validateDirectives(s: LoadedSchema, dirs: Obj[], location: string, current: Obj | undefined, fail: Fail): void {
  for (const dir of dirs) {
    const name = str(dir.Name);
    validateName(posOf(dir), name, fail);
    if (current && name === str(current.Name)) fail(posOf(dir), `Directive ${name} cannot refer to itself.`);
    const def = s.directives.get(name);
    if (!def) fail(posOf(dir), `Undefined directive ${name}.`);
    if (!strList(def!.Locations).includes(location)) fail(posOf(dir), `Directive ${name} is not applicable on ${location}.`);
  }
}

function validateDefinition(s: LoadedSchema, def: TypeDef, possible: Map<string, Set<string>>, fail: Fail): void {
  for (const field of def.Fields) {
    validateName(posOf(field), str(field.Name), fail);
    validateTypeRef(s, objOf(field.Type), fail);
    validateArgs(s, list(field.Arguments), undefined, fail);
    validateDirectives(s, list(field.Directives), def.Kind === 'INPUT_OBJECT' ? 'INPUT_FIELD_DEFINITION' : 'FIELD_DEFINITION', undefined, fail);
  }
  for (const t of def.Types) {
    const td = s.types.get(t);
    if (!td) fail(def.Position, `Undefined type ${goQuote(t)}.`);
    if (td!.Kind !== 'OBJECT') fail(def.Position, `${def.Kind} type ${goQuote(t)} must be OBJECT.`);
  }
  for (const intf of def.Interfaces) validateImplements(s, def, intf, possible, fail);

  switch (def.Kind) {
    case 'OBJECT':
    case 'INTERFACE':
      if (def.Fields.length === 0) fail(def.Position, `${def.Kind} ${def.Name}: must define one or more fields.`);
      for (const f of def.Fields) {
        const t = s.types.get(typeName(objOf(f.Type)));
        if (t && t.Kind === 'INPUT_OBJECT') fail(posOf(f), `${def.Kind} ${def.Name}: field must be one of SCALAR, OBJECT, INTERFACE, UNION, ENUM.`);
      }
      break;
    case 'ENUM':
      if (def.EnumValues.length === 0) fail(def.Position, `${def.Kind} ${def.Name}: must define one or more unique enum values.`);
      for (const v of def.EnumValues) {
        const n = str(v.Name);
        if (n === 'true' || n === 'false' || n === 'null') fail(def.Position, `${def.Kind} ${def.Name}: non-enum value ${n}.`);
      }
      break;
    case 'INPUT_OBJECT':
      if (def.Fields.length === 0) fail(def.Position, `${def.Kind} ${def.Name}: must define one or more input fields.`);
      for (const f of def.Fields) {
        const t = s.types.get(typeName(objOf(f.Type)));
        if (t && !INPUT_KINDS.has(t.Kind)) fail(posOf(f), `${t.Kind} ${str(f.Name)}: field must be one of SCALAR, ENUM, INPUT_OBJECT.`);
      }
      break;
  }
  for (let i = 0; i < def.Fields.length; i++) {
    for (let j = i + 1; j < def.Fields.length; j++) {
      if (str(def.Fields[i]!.Name) === str(def.Fields[j]!.Name)) {
        fail(posOf(def.Fields[j]), `Field ${def.Name}.${str(def.Fields[j]!.Name)} can only be defined once.`);
      }
    }
  }
  if (!def.BuiltIn) validateName(def.Position, def.Name, fail);
  validateDirectives(s, def.Directives, def.Kind, undefined, fail);
}

function isCovariant(s: LoadedSchema, possible: Map<string, Set<string>>, required: Obj | undefined, actual: Obj | undefined): boolean {
  if (!required || !actual) return false;
  if (required.NonNull === true && actual.NonNull !== true) return false;
  const rn = str(required.NamedType);
  if (rn !== '') {
    const an = str(actual.NamedType);
    if (rn === an) return true;
    return possible.get(rn)?.has(an) ?? false;
  }
  if (objOf(required.Elem) && !objOf(actual.Elem)) return false;
  return isCovariant(s, possible, objOf(required.Elem), objOf(actual.Elem));
}

/** gqlparser `Type.IsCompatible`: same shape and names. */
function sameType(a: Obj | undefined, b: Obj | undefined): boolean {
  if (!a || !b) return a === b;
  if (str(a.NamedType) !== str(b.NamedType)) return false;
  if ((a.NonNull === true) !== (b.NonNull === true)) return false;
  const ae = objOf(a.Elem);
  const be = objOf(b.Elem);
  if (!ae || !be) return !ae && !be;
  return sameType(ae, be);
}

function validateImplements(s: LoadedSchema, def: TypeDef, intfName: string, possible: Map<string, Set<string>>, fail: Fail): void {
  const intf = s.types.get(intfName);
  if (!intf) return fail(def.Position, `Undefined type ${goQuote(intfName)}.`);
  if (intf.Kind !== 'INTERFACE') fail(def.Position, `${goQuote(intfName)} is a non interface type ${intf.Kind}.`);
  for (const req of intf.Fields) {
    const reqName = str(req.Name);
    const found = def.Fields.find((f) => str(f.Name) === reqName);
    if (!found) return fail(def.Position, `For ${def.Name} to implement ${intf.Name} it must have a field called ${reqName}.`);
    if (!isCovariant(s, possible, objOf(req.Type), objOf(found.Type))) {
      fail(posOf(found), `For ${def.Name} to implement ${intf.Name} the field ${reqName} must have type ${typeString(objOf(req.Type))}.`);
    }
    const foundArgs = list(found.Arguments);
    const reqArgs = list(req.Arguments);
    for (const ra of reqArgs) {
      const fa = foundArgs.find((a) => str(a.Name) === str(ra.Name));
      if (!fa) fail(posOf(found), `For ${def.Name} to implement ${intf.Name} the field ${reqName} must have the same arguments but it is missing ${str(ra.Name)}.`);
      if (!sameType(objOf(ra.Type), objOf(fa!.Type))) {
        fail(posOf(fa), `For ${def.Name} to implement ${intf.Name} the field ${reqName} must have the same arguments but ${str(ra.Name)} has the wrong type.`);
      }
    }
    for (const fa of foundArgs) {
      const t = objOf(fa.Type);
      if (!reqArgs.some((a) => str(a.Name) === str(fa.Name)) && t?.NonNull === true && !objOf(fa.DefaultValue)) {
        fail(
          posOf(fa),
          `For ${def.Name} to implement ${intf.Name} any additional arguments on ${str(found.Name)} must be optional or have a default value but ${str(fa.Name)} is required.`,
        );
      }
    }
  }
  for (const transitive of intf.Interfaces) {
    if (!def.Interfaces.includes(transitive)) {
      if (transitive === def.Name) fail(def.Position, `Type ${def.Name} cannot implement ${intfName} because it would create a circular reference.`);
      fail(def.Position, `Type ${def.Name} must implement ${transitive} because it is implemented by ${intfName}.`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// graphql-js nodes from gqlparser-shaped documents, for query validation

/** Name nodes share their owner's location, so graphql-js errors reported at a name have a position. */
function nameNode(value: string, loc?: Location): NameNode {
  return { kind: Kind.NAME, value, loc };
}

function locOf(x: Obj | undefined, source: Source | undefined): Location | undefined {
  const p = posOf(x);
  if (!p || !source) return undefined;
  return { start: p.Start, end: p.Start, source } as unknown as Location;
}

/** `at` overrides the position (gqlparser reports a variable's unknown type at the variable). */
function typeNode(t: Obj | undefined, source?: Source, at?: Location): TypeNode {
  if (!t) return { kind: Kind.NAMED_TYPE, name: nameNode('') };
  const loc = at ?? locOf(t, source);
  const inner: NamedTypeNode | TypeNode =
    str(t.NamedType) !== ''
      ? { kind: Kind.NAMED_TYPE, name: nameNode(str(t.NamedType), loc), loc }
      : { kind: Kind.LIST_TYPE, type: typeNode(objOf(t.Elem), source, at), loc };
  return t.NonNull === true ? { kind: Kind.NON_NULL_TYPE, type: inner as NamedTypeNode, loc } : inner;
}

function valueNode(v: Obj | undefined, source: Source | undefined): ValueNode {
  if (!v) return { kind: Kind.NULL };
  const raw = str(v.Raw);
  const loc = locOf(v, source);
  switch (v.Kind) {
    case VK.Variable:
      return { kind: Kind.VARIABLE, name: nameNode(raw, loc), loc };
    case VK.Int:
      return { kind: Kind.INT, value: raw, loc };
    case VK.Float:
      return { kind: Kind.FLOAT, value: raw, loc };
    case VK.String:
      return { kind: Kind.STRING, value: raw, loc };
    case VK.Block:
      return { kind: Kind.STRING, value: raw, block: true, loc };
    case VK.Boolean:
      return { kind: Kind.BOOLEAN, value: raw === 'true', loc };
    case VK.Null:
      return { kind: Kind.NULL, loc };
    case VK.Enum:
      return { kind: Kind.ENUM, value: raw, loc };
    case VK.List:
      return { kind: Kind.LIST, values: list(v.Children).map((c) => valueNode(objOf(c.Value), source)), loc };
    default:
      return {
        kind: Kind.OBJECT,
        fields: list(v.Children).map((c) => ({
          kind: Kind.OBJECT_FIELD,
          name: nameNode(str(c.Name), locOf(c, source)),
          value: valueNode(objOf(c.Value), source),
          loc: locOf(c, source),
        })),
        loc,
      };
  }
}

function argNodes(args: unknown, source: Source | undefined): ArgumentNode[] {
  return list(args).map((a) => ({ kind: Kind.ARGUMENT, name: nameNode(str(a.Name), locOf(a, source)), value: valueNode(objOf(a.Value), source), loc: locOf(a, source) }));
}

function directiveNodes(dirs: unknown, source: Source | undefined): DirectiveNode[] {
  return list(dirs).map((d) => ({ kind: Kind.DIRECTIVE, name: nameNode(str(d.Name), locOf(d, source)), arguments: argNodes(d.Arguments, source), loc: locOf(d, source) }));
}

function varDefNodes(defs: unknown, source: Source | undefined): VariableDefinitionNode[] {
  return list(defs).map((d) => ({
    kind: Kind.VARIABLE_DEFINITION,
    variable: { kind: Kind.VARIABLE, name: nameNode(str(d.Variable), locOf(d, source)), loc: locOf(d, source) },
    type: typeNode(objOf(d.Type), source, locOf(d, source)),
    defaultValue: objOf(d.DefaultValue) ? (valueNode(objOf(d.DefaultValue), source) as VariableDefinitionNode['defaultValue']) : undefined,
    directives: directiveNodes(d.Directives, source) as VariableDefinitionNode['directives'],
    loc: locOf(d, source),
  }));
}

/** `owner` positions the selection set: gqlparser reports selection-set problems (ScalarLeafs) at the field. */
function selectionSetNode(sel: unknown, source: Source | undefined, owner?: Obj): SelectionSetNode {
  const selections: SelectionNode[] = list(sel).map((s) => {
    const loc = locOf(s, source);
    if ('TypeCondition' in s || !('Name' in s)) {
      const tc = str(s.TypeCondition);
      return {
        kind: Kind.INLINE_FRAGMENT,
        typeCondition: tc !== '' ? { kind: Kind.NAMED_TYPE, name: nameNode(tc, loc), loc } : undefined,
        directives: directiveNodes(s.Directives, source),
        selectionSet: selectionSetNode(s.SelectionSet, source, s),
        loc,
      };
    }
    if ('Alias' in s || 'Arguments' in s || 'SelectionSet' in s) {
      const name = str(s.Name);
      const alias = str(s.Alias);
      return {
        kind: Kind.FIELD,
        alias: alias !== '' && alias !== name ? nameNode(alias, loc) : undefined,
        name: nameNode(name, loc),
        arguments: argNodes(s.Arguments, source),
        directives: directiveNodes(s.Directives, source),
        selectionSet: Array.isArray(s.SelectionSet) && s.SelectionSet.length > 0 ? selectionSetNode(s.SelectionSet, source, s) : undefined,
        loc,
      };
    }
    return { kind: Kind.FRAGMENT_SPREAD, name: nameNode(str(s.Name), loc), directives: directiveNodes(s.Directives, source), loc };
  });
  return { kind: Kind.SELECTION_SET, selections, loc: locOf(owner, source) };
}

function queryDocumentNode(q: ParsedQuery): DocumentNode {
  const { doc, source } = q;
  const definitions: DefinitionNode[] = [];
  for (const op of list(doc.Operations)) {
    const name = str(op.Name);
    definitions.push({
      kind: Kind.OPERATION_DEFINITION,
      operation: (str(op.Operation) || 'query') as OperationTypeNode,
      name: name !== '' ? nameNode(name, locOf(op, source)) : undefined,
      variableDefinitions: varDefNodes(op.VariableDefinitions, source),
      directives: directiveNodes(op.Directives, source),
      selectionSet: selectionSetNode(op.SelectionSet, source, op),
      loc: locOf(op, source),
    });
  }
  for (const f of list(doc.Fragments)) {
    const vars = varDefNodes(f.VariableDefinition, source);
    definitions.push({
      kind: Kind.FRAGMENT_DEFINITION,
      name: nameNode(str(f.Name), locOf(f, source)),
      variableDefinitions: vars.length > 0 ? vars : undefined,
      typeCondition: { kind: Kind.NAMED_TYPE, name: nameNode(str(f.TypeCondition), locOf(f, source)), loc: locOf(f, source) },
      directives: directiveNodes(f.Directives, source),
      selectionSet: selectionSetNode(f.SelectionSet, source, f),
      loc: locOf(f, source),
    });
  }
  return { kind: Kind.DOCUMENT, definitions };
}

function inputValueNodes(args: Obj[]): InputValueDefinitionNode[] {
  return args.map((a) => ({
    kind: Kind.INPUT_VALUE_DEFINITION,
    name: nameNode(str(a.Name)),
    type: typeNode(objOf(a.Type)),
    defaultValue: objOf(a.DefaultValue) ? (valueNode(objOf(a.DefaultValue), undefined) as InputValueDefinitionNode['defaultValue']) : undefined,
  }));
}

function fieldNodes(fields: Obj[]): FieldDefinitionNode[] {
  return fields.map((f) => ({
    kind: Kind.FIELD_DEFINITION,
    name: nameNode(str(f.Name)),
    arguments: inputValueNodes(list(f.Arguments)),
    type: typeNode(objOf(f.Type)),
  }));
}

/** A graphql-js schema equivalent to a loaded gqlparser schema (already checked, so built with assumeValid). */
function graphqlJsSchema(s: LoadedSchema): GraphQLSchema {
  const definitions: DefinitionNode[] = [];
  const named = (n: string): NamedTypeNode => ({ kind: Kind.NAMED_TYPE, name: nameNode(n) });
  for (const def of s.types.values()) {
    if (def.BuiltIn) continue;
    const name = nameNode(def.Name);
    switch (def.Kind) {
      case 'SCALAR':
        definitions.push({ kind: Kind.SCALAR_TYPE_DEFINITION, name });
        break;
      case 'OBJECT':
        definitions.push({ kind: Kind.OBJECT_TYPE_DEFINITION, name, interfaces: def.Interfaces.map(named), fields: fieldNodes(def.Fields) });
        break;
      case 'INTERFACE':
        definitions.push({ kind: Kind.INTERFACE_TYPE_DEFINITION, name, interfaces: def.Interfaces.map(named), fields: fieldNodes(def.Fields) });
        break;
      case 'UNION':
        definitions.push({ kind: Kind.UNION_TYPE_DEFINITION, name, types: def.Types.map(named) });
        break;
      case 'ENUM':
        definitions.push({ kind: Kind.ENUM_TYPE_DEFINITION, name, values: def.EnumValues.map((v) => ({ kind: Kind.ENUM_VALUE_DEFINITION, name: nameNode(str(v.Name)) })) });
        break;
      case 'INPUT_OBJECT':
        definitions.push({ kind: Kind.INPUT_OBJECT_TYPE_DEFINITION, name, fields: inputValueNodes(def.Fields) });
        break;
    }
  }
  for (const [name, dir] of s.directives) {
    if (BUILTIN_DIRECTIVES.has(name)) continue;
    definitions.push({
      kind: Kind.DIRECTIVE_DEFINITION,
      name: nameNode(name),
      arguments: inputValueNodes(list(dir.Arguments)),
      repeatable: dir.IsRepeatable === true,
      locations: strList(dir.Locations).map((l) => nameNode(l)),
    });
  }
  const ops: { op: OperationTypeNode; type: string | undefined }[] = [
    { op: 'query' as OperationTypeNode, type: s.query },
    { op: 'mutation' as OperationTypeNode, type: s.mutation },
    { op: 'subscription' as OperationTypeNode, type: s.subscription },
  ];
  const operationTypes = ops
    .filter((o) => o.type !== undefined)
    .map((o): OperationTypeDefinitionNode => ({ kind: Kind.OPERATION_TYPE_DEFINITION, operation: o.op, type: named(o.type!) }));
  // An explicit (possibly empty) schema definition keeps graphql-js from guessing roots by type name.
  definitions.push({ kind: Kind.SCHEMA_DEFINITION, operationTypes });
  return buildASTSchema({ kind: Kind.DOCUMENT, definitions }, { assumeValid: true, assumeValidSDL: true });
}

/** gqlparser's KnownRootType rule (graphql-js 16 has none). */
function knownRootTypeRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      if (!context.getSchema().getRootType(node.operation)) {
        context.reportError(new GraphQLError(`Schema does not support operation type "${node.operation}"`, { nodes: node }));
      }
    },
  };
}

export interface QueryProblem {
  message: string;
  line: number;
  column: number;
}

/** Validates a query against a loaded schema; returns the first problem (gqlparser reports the first one). */
export function validateQuery(schema: LoadedSchema, q: ParsedQuery): QueryProblem | undefined {
  let errors: readonly GraphQLError[];
  try {
    errors = validate(graphqlJsSchema(schema), queryDocumentNode(q), [knownRootTypeRule, ...specifiedRules]);
  } catch (e) {
    if (e instanceof RangeError) throw e;
    // e.g. a root operation type that is not an object type: gqlparser loads it, graphql-js cannot use it
    throw new GqlSchemaError(`schema cannot be used for validation: ${e instanceof Error ? e.message : String(e)}`, undefined);
  }
  const e = errors[0];
  if (!e) return undefined;
  const loc = e.locations?.[0];
  return { message: e.message, line: loc?.line ?? 0, column: loc?.column ?? 0 };
}

// ---------------------------------------------------------------------------------------------------------------
// Built-ins

function syntaxMessage(e: GqlSyntaxError): string {
  return `${e.message} in GraphQL string at location ${e.line}:${e.column}`;
}

function schemaMessage(e: GqlSchemaError): string {
  const where = e.pos ? `input:${e.pos.Line}:${e.pos.Column}: ` : 'input: ';
  return `Error in gqlparser SchemaDocument to Schema conversion: ${where}${e.message}`;
}

function failure(name: string, e: unknown): BuiltinError {
  if (e instanceof RangeError) return new BuiltinError(`${name}: GraphQL document nested too deeply`);
  if (e instanceof GqlSyntaxError) return new BuiltinError(`${name}: ${syntaxMessage(e)}`);
  if (e instanceof GqlSchemaError) return new BuiltinError(`${name}: ${schemaMessage(e)}`);
  return new BuiltinError(`${name}: ${e instanceof Error ? e.message : String(e)}`);
}

function objectJson(v: RegoObject): Obj {
  return toJSON(v) as Obj;
}

/** The query operand: a GraphQL string, or an AST object as `graphql.parse_query` returns. */
function queryOperand(name: string, v: Value, pos: number): ParsedQuery {
  if (typeof v === 'string') return parseQueryText(v);
  if (v instanceof RegoObject) return { doc: objectJson(v) };
  throw operandTypeError(name, v, pos);
}

function schemaOperand(name: string, v: Value, pos: number): Obj {
  if (typeof v === 'string') return parseSchemaText(v);
  if (v instanceof RegoObject) return objectJson(v);
  throw operandTypeError(name, v, pos);
}

/** OPA (topdown/graphql.go) numbers these operands from 0: `operand 0 must be one of {string, object}`. */
function operandTypeError(name: string, v: Value, pos: number): BuiltinTypeError {
  return new BuiltinTypeError(`${name}: operand ${pos - 1} must be one of {string, object} but got ${typeNameOf(v)}`);
}

function typeNameOf(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'array';
  return v instanceof RegoObject ? 'object' : 'set';
}

function stringOperand(name: string, v: Value): string {
  if (typeof v !== 'string') throw new BuiltinTypeError(`${name}: operand 1 must be string but got ${typeNameOf(v)}`);
  return v;
}

interface Verified {
  query: Obj;
  schema: Obj;
}

/** Parse both operands, load the schema, validate the query: OPA's order of checks. Throws the first failure. */
function parseAndVerify(name: string, args: Value[]): Verified {
  const q = queryOperand(name, args[0]!, 1);
  const schemaDoc = schemaOperand(name, args[1]!, 2);
  const loaded = loadSchema(schemaDoc);
  const problem = validateQuery(loaded, q);
  if (problem) {
    throw new BuiltinError(`${name}: ${problem.message.replace(/\.$/, '')} in GraphQL query string at location ${problem.line}:${problem.column}`);
  }
  return { query: q.doc, schema: schemaDoc };
}

function isGqlFailure(e: unknown): boolean {
  // RangeError: call stack exhausted by an absurdly nested document
  return e instanceof RangeError || e instanceof GqlSyntaxError || e instanceof GqlSchemaError || e instanceof BuiltinError || e instanceof BuiltinTypeError;
}

export const GRAPHQL_BUILTINS: BuiltinDef[] = [
  {
    name: 'graphql.parse_query',
    args: ['string'],
    result: 'object',
    fn: ([q]) => {
      const text = stringOperand('graphql.parse_query', q!);
      try {
        return astValue(parseQueryText(text).doc);
      } catch (e) {
        throw failure('graphql.parse_query', e);
      }
    },
  },
  {
    name: 'graphql.parse_schema',
    args: ['string'],
    result: 'object',
    fn: ([s]) => {
      const text = stringOperand('graphql.parse_schema', s!);
      try {
        return astValue(parseSchemaText(text));
      } catch (e) {
        throw failure('graphql.parse_schema', e);
      }
    },
  },
  {
    name: 'graphql.parse',
    args: ['any', 'any'],
    result: 'array',
    fn: (args) => {
      try {
        const v = parseAndVerify('graphql.parse', args);
        return [astValue(v.query), astValue(v.schema)];
      } catch (e) {
        if (e instanceof BuiltinError || e instanceof BuiltinTypeError) throw e;
        throw failure('graphql.parse', e);
      }
    },
  },
  {
    name: 'graphql.parse_and_verify',
    args: ['any', 'any'],
    result: 'array',
    fn: (args) => {
      try {
        const v = parseAndVerify('graphql.parse_and_verify', args);
        return [true, astValue(v.query), astValue(v.schema)];
      } catch (e) {
        if (!isGqlFailure(e)) throw e;
        return [false, new RegoObject([]), new RegoObject([])];
      }
    },
  },
  {
    name: 'graphql.is_valid',
    args: ['any', 'any'],
    result: 'boolean',
    fn: (args) => {
      try {
        parseAndVerify('graphql.is_valid', args);
        return true;
      } catch (e) {
        if (!isGqlFailure(e)) throw e;
        return false;
      }
    },
  },
  {
    name: 'graphql.schema_is_valid',
    args: ['any'],
    result: 'boolean',
    fn: ([s]) => {
      try {
        loadSchema(schemaOperand('graphql.schema_is_valid', s!, 1));
        return true;
      } catch (e) {
        if (!isGqlFailure(e)) throw e;
        return false;
      }
    },
  },
];
