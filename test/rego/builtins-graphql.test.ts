/**
 * graphql.* built-ins. Expected ASTs, booleans and error messages are taken from OPA's conformance cases
 * (test/cases/testdata/graphql*) and OPA's documentation, not from this implementation's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, has } from './builtins-helper.js';
import { BuiltinError, BuiltinTypeError } from '../../src/rego/builtins/types.js';
import { compile } from '../../src/rego/index.js';

function throwsBuiltin(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BuiltinError, `want BuiltinError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

const EMPLOYEE_SCHEMA = `
  type Employee {
    id: String!
    salary: Int!
  }
  schema {
    query: Query
  }
  type Query {
    employeeByID(id: String): Employee
  }
`;

test('all six graphql built-ins are registered', () => {
  for (const n of ['graphql.parse', 'graphql.parse_query', 'graphql.parse_schema', 'graphql.parse_and_verify', 'graphql.is_valid', 'graphql.schema_is_valid']) {
    assert.ok(has(n), n);
  }
});

test('parse_query: basic AST (OPA success-basic-ast simple query)', () => {
  assert.deepEqual(call('graphql.parse_query', '{hero {name}}'), {
    Operations: [{ Name: '', Operation: 'query', SelectionSet: [{ Alias: 'hero', Name: 'hero', SelectionSet: [{ Alias: 'name', Name: 'name' }] }] }],
  });
});

test('parse_query: variables, arguments, value kinds and directives (OPA cases)', () => {
  assert.deepEqual(call('graphql.parse_query', '{ f(id: [1,2]) }'), {
    Operations: [
      {
        Name: '',
        Operation: 'query',
        SelectionSet: [
          {
            Alias: 'f',
            Arguments: [
              {
                Name: 'id',
                Value: { Children: [{ Name: '', Value: { Kind: 1, Raw: '1' } }, { Name: '', Value: { Kind: 1, Raw: '2' } }], Kind: 8, Raw: '' },
              },
            ],
            Name: 'f',
          },
        ],
      },
    ],
  });
  assert.deepEqual(call('graphql.parse_query', '{ f(long: """long""", short: "short") }'), {
    Operations: [
      {
        Name: '',
        Operation: 'query',
        SelectionSet: [
          {
            Alias: 'f',
            Arguments: [
              { Name: 'long', Value: { Kind: 4, Raw: 'long' } },
              { Name: 'short', Value: { Kind: 3, Raw: 'short' } },
            ],
            Name: 'f',
          },
        ],
      },
    ],
  });
  assert.deepEqual(call('graphql.parse_query', 'query ($withDirective: String @first @second, $withoutDirective: String) { f }'), {
    Operations: [
      {
        Name: '',
        Operation: 'query',
        SelectionSet: [{ Alias: 'f', Name: 'f' }],
        VariableDefinitions: [
          {
            Directives: [
              { Location: '', Name: 'first' },
              { Location: '', Name: 'second' },
            ],
            Type: { NamedType: 'String', NonNull: false },
            Used: false,
            Variable: 'withDirective',
          },
          { Type: { NamedType: 'String', NonNull: false }, Used: false, Variable: 'withoutDirective' },
        ],
      },
    ],
  });
  assert.deepEqual(call('graphql.parse_query', 'fragment a($v: Boolean = false) on t { f(v: $v) }'), {
    Fragments: [
      {
        Name: 'a',
        SelectionSet: [{ Alias: 'f', Arguments: [{ Name: 'v', Value: { Kind: 0, Raw: 'v' } }], Name: 'f' }],
        TypeCondition: 't',
        VariableDefinition: [{ DefaultValue: { Kind: 5, Raw: 'false' }, Type: { NamedType: 'Boolean', NonNull: false }, Used: false, Variable: 'v' }],
      },
    ],
  });
});

test('parse_query: syntax errors carry gqlparser messages and positions (OPA failure cases)', () => {
  const cases: [string, string][] = [
    ['{', 'Expected Name, found <EOF> in GraphQL string at location 1:2'],
    ['\n  { ...MissingOn }\n  fragment MissingOn Type\n', 'Expected "on", found Name "Type" in GraphQL string at location 3:22'],
    ['{ field: {} }', 'Expected Name, found { in GraphQL string at location 1:10'],
    ['notanoperation Foo { field }', 'Unexpected Name "notanoperation" in GraphQL string at location 1:1'],
    ['...', 'Unexpected ... in GraphQL string at location 1:1'],
    ['query Foo($x: Complex = { a: { b: [ $var ] } }) { field }', 'Unexpected $ in GraphQL string at location 1:37'],
    ['fragment on on on { on }', 'Unexpected Name "on" in GraphQL string at location 1:10'],
    ['{ ...on }', 'Expected Name, found } in GraphQL string at location 1:9'],
    ['{__typename{...}}', 'Expected {, found } in GraphQL string at location 1:16'],
    ['{...{__typename{...{}}}}', 'expected at least one definition, found } in GraphQL string at location 1:21'],
  ];
  for (const [q, msg] of cases) throwsBuiltin(() => call('graphql.parse_query', q), `graphql.parse_query: ${msg}`);
  // gqlparser's lexer turns an unterminated string into an <Invalid> token positioned where lexing stopped
  throwsBuiltin(() => call('graphql.parse_query', '{ f(a: "abc'), 'graphql.parse_query: Unexpected <Invalid> in GraphQL string at location 1:12');
  // schema definitions are not query definitions
  assert.throws(() => call('graphql.parse_query', 'type Foo { a: Int }'), /Unexpected Name "type"/);
});

test('parse_query: operand must be a string', () => {
  assert.throws(() => call('graphql.parse_query', 1), BuiltinTypeError);
});

test('parse_schema: definitions, extensions, schema, directives (OPA cases)', () => {
  assert.deepEqual(call('graphql.parse_schema', '\n  """\n  Description\n  """\n  # Even with comments between them\n  type Hello {\n    world(flag: Boolean = true): String\n  }\n'), {
    Definitions: [
      {
        BuiltIn: false,
        Description: 'Description',
        Fields: [
          {
            Arguments: [{ DefaultValue: { Kind: 5, Raw: 'true' }, Description: '', Name: 'flag', Type: { NamedType: 'Boolean', NonNull: false } }],
            Description: '',
            Name: 'world',
            Type: { NamedType: 'String', NonNull: false },
          },
        ],
        Kind: 'OBJECT',
        Name: 'Hello',
      },
    ],
  });
  assert.deepEqual(call('graphql.parse_schema', 'extend type Hello implements Greeting'), {
    Extensions: [{ BuiltIn: false, Description: '', Interfaces: ['Greeting'], Kind: 'OBJECT', Name: 'Hello' }],
  });
  assert.deepEqual(call('graphql.parse_schema', '\n  schema {\n    query: Query\n  }\n'), {
    Schema: [{ Description: '', OperationTypes: [{ Operation: 'query', Type: 'Query' }] }],
  });
  assert.deepEqual(call('graphql.parse_schema', 'extend schema @directive'), {
    SchemaExtension: [{ Description: '', Directives: [{ Location: '', Name: 'directive' }] }],
  });
  assert.deepEqual(call('graphql.parse_schema', 'directive @foo repeatable on FIELD'), {
    Directives: [{ Description: '', IsRepeatable: true, Locations: ['FIELD'], Name: 'foo' }],
  });
  assert.deepEqual(call('graphql.parse_schema', 'union Hello = | Wo | Rld'), {
    Definitions: [{ BuiltIn: false, Description: '', Kind: 'UNION', Name: 'Hello', Types: ['Wo', 'Rld'] }],
  });
});

test('parse_schema: syntax errors (OPA failure cases)', () => {
  const cases: [string, string][] = [
    ['type Hello {}', 'expected at least one definition, found } in GraphQL string at location 1:13'],
    ['extend type Hello', 'Unexpected <EOF> in GraphQL string at location 1:18'],
    ['\n  "Description"\n  extend type Hello {\n    world: String\n  }\n', 'Unexpected String "Description" in GraphQL string at location 2:4'],
    ['\n  extend "Description" type Hello {\n    world: String\n  }\n', 'Unexpected String "Description" in GraphQL string at location 2:11'],
    ['extend schema', 'Unexpected <EOF> in GraphQL string at location 1:14'],
    ['union Hello = || Wo | Rld', 'Expected Name, found | in GraphQL string at location 1:16'],
    ['union Hello = | Wo | Rld |', 'Expected Name, found <EOF> in GraphQL string at location 1:27'],
    ['\n  input Hello {\n    world(foo: Int): String\n  }\n', 'Expected :, found ( in GraphQL string at location 3:10'],
    ['directive @foo on FIELD | INCORRECT_LOCATION', 'Unexpected Name "INCORRECT_LOCATION" in GraphQL string at location 1:27'],
    ['type o{d(g:[', 'Expected Name, found <EOF> in GraphQL string at location 1:13'],
    ['"""\r', 'Unexpected <Invalid> in GraphQL string at location 2:1'],
  ];
  for (const [s, msg] of cases) throwsBuiltin(() => call('graphql.parse_schema', s), `graphql.parse_schema: ${msg}`);
});

test('schema_is_valid follows gqlparser rules (OPA cases)', () => {
  const valid = [
    '\n  extend type User {\n      id: ID!\n  }\n  extend type Product {\n      upc: String!\n  }\n  union _Entity = Product | User\n  extend type Query {\n    entity: _Entity\n  }\n',
    'type Hello { world: String }',
    'extend schema @directive',
    'enum Hello { WO, RLD }',
    'scalar Hello',
    'directive @foo repeatable on FIELD',
    '\n  type DeprecatedType {\n    deprecatedField: String @deprecated\n    newField(deprecatedArg: Int): Boolean\n  }\n  enum DeprecatedEnum {\n    ALPHA @deprecated\n  }\n',
  ];
  const invalid = [
    'type Hello {}',
    'extend type Hello implements Greeting',
    'extend scalar Foo @deprecated\nextend type Foo @deprecated',
    'schema { query: Query }',
    'extend schema { mutation: Mutation }',
    'type Hello implements World { field: String }',
    'union Hello = World',
    'interface IA { id: ID! }\ninterface IIA implements IA { id: ID! }\ntype A implements IIA { id: ID! }',
    'input Hello { world(foo: Int): String }',
  ];
  for (const s of valid) assert.equal(call('graphql.schema_is_valid', s), true, s);
  for (const s of invalid) assert.equal(call('graphql.schema_is_valid', s), false, s);
  // an AST object is accepted too, and a wrong operand type is just "not valid"
  const ast = call('graphql.parse_schema', EMPLOYEE_SCHEMA);
  assert.equal(call('graphql.schema_is_valid', ast), true);
  assert.equal(call('graphql.schema_is_valid', 42), false);
});

const LOCALE_SCHEMA = `
  extend type Query {
      myAction(myEnum: Locale!): SomeResult!
  }
  type SomeResult {
      id: String
  }
  enum Locale {
      EN
      LT
      DE
  }
`;
const MISSING_ARG_QUERY = `
  query SomeOperation {
    # Note: Not providing mandatory parameter: (myEnum: Locale!)
    myAction {
      id
    }
  }
`;
const DEFAULT_ARG_QUERY = `
  # Note: there is default enum value in variables
  query SomeOperation ($locale: Locale! = DE) {
    myAction(myEnum: $locale) {
      id
    }
  }
`;

test('is_valid / parse_and_verify / parse: validation against a schema (OPA cases)', () => {
  assert.equal(call('graphql.is_valid', MISSING_ARG_QUERY, LOCALE_SCHEMA), false);
  assert.equal(call('graphql.is_valid', DEFAULT_ARG_QUERY, LOCALE_SCHEMA), true);
  assert.equal(call('graphql.is_valid', '', 'type DeprecatedType { f: String @deprecated }'), true);
  assert.equal(
    call('graphql.is_valid', '\n  query Foo($flag: Boolean!) {\n    ...Bar\n  }\n  fragment Bar on Query {\n    bar @include(if: $flag)\n  }\n', 'type Query { bar: String! }'),
    true,
  );

  assert.deepEqual(call('graphql.parse_and_verify', MISSING_ARG_QUERY, LOCALE_SCHEMA), [false, {}, {}]);
  const [ok, q] = call('graphql.parse_and_verify', DEFAULT_ARG_QUERY, LOCALE_SCHEMA) as [boolean, unknown, unknown];
  assert.equal(ok, true);
  assert.deepEqual(q, {
    Operations: [
      {
        Name: 'SomeOperation',
        Operation: 'query',
        SelectionSet: [{ Alias: 'myAction', Arguments: [{ Name: 'myEnum', Value: { Kind: 0, Raw: 'locale' } }], Name: 'myAction', SelectionSet: [{ Alias: 'id', Name: 'id' }] }],
        VariableDefinitions: [{ DefaultValue: { Kind: 7, Raw: 'DE' }, Type: { NamedType: 'Locale', NonNull: true }, Used: false, Variable: 'locale' }],
      },
    ],
  });

  throwsBuiltin(
    () => call('graphql.parse', MISSING_ARG_QUERY, LOCALE_SCHEMA),
    'graphql.parse: Field "myAction" argument "myEnum" of type "Locale!" is required, but it was not provided in GraphQL query string at location 4:5',
  );
  const [pq] = call('graphql.parse', DEFAULT_ARG_QUERY, LOCALE_SCHEMA) as [unknown, unknown];
  assert.deepEqual(pq, q);
});

test('query validation rejects unknown fields and root operations the schema lacks', () => {
  assert.equal(call('graphql.is_valid', '{ nope }', 'type Query { a: Int }'), false);
  assert.equal(call('graphql.is_valid', 'mutation { a }', 'type Query { a: Int }'), false);
  assert.equal(call('graphql.is_valid', '{ a { b } }', 'type Query { a: Int }'), false);
  assert.equal(call('graphql.is_valid', '{ a }', 'type Query { a: Int }'), true);
  // an invalid schema makes every query invalid; a syntax error in either operand too
  assert.equal(call('graphql.is_valid', '{ a }', 'type Query { a: Undefined }'), false);
  assert.equal(call('graphql.is_valid', '{ a', 'type Query { a: Int }'), false);
  assert.equal(call('graphql.is_valid', '{ a }', 'type Query { a: Int'), false);
  assert.equal(call('graphql.is_valid', 1, 'type Query { a: Int }'), false);
});

test('AST objects from parse_query / parse_schema are accepted as operands (OPA Employee example)', () => {
  const schemaAst = call('graphql.parse_schema', EMPLOYEE_SCHEMA);
  const queryAst = call('graphql.parse_query', '\n  query { employeeByID(id: "alice") { salary }}\n');
  assert.equal(call('graphql.is_valid', queryAst, schemaAst), true);
  assert.deepEqual(call('graphql.parse_and_verify', queryAst, schemaAst), [true, queryAst, schemaAst]);
  assert.deepEqual(call('graphql.parse', queryAst, schemaAst), [queryAst, schemaAst]);
  // the AST of an invalid query stays invalid
  const badAst = call('graphql.parse_query', '{ employeeByID(id: "alice") { name } }');
  assert.equal(call('graphql.is_valid', badAst, schemaAst), false);
  // OPA (topdown/graphql.go) numbers these operands from 0
  assert.throws(() => call('graphql.parse', 1, schemaAst), (e: unknown) => {
    assert.ok(e instanceof BuiltinTypeError);
    assert.equal(e.message, 'graphql.parse: operand 0 must be one of {string, object} but got number');
    return true;
  });
});

test('validation problems in query strings are positioned in the query, as gqlparser does', () => {
  // gqlparser's KnownTypeNames reports an unknown variable type at the variable definition (its `$`)
  const schema = 'type Query { a(x: Int): Int }';
  throwsBuiltin(() => call('graphql.parse', 'query ($x: Foo) { a }', schema), 'graphql.parse: Unknown type "Foo" in GraphQL query string at location 1:8');
  throwsBuiltin(() => call('graphql.parse', '{\n  a\n  nope\n}', schema), 'graphql.parse: Cannot query field "nope" on type "Query" in GraphQL query string at location 3:3');
  // an invalid schema is reported as gqlparser's schema conversion error
  throwsBuiltin(
    () => call('graphql.parse', '{ a }', 'type Query { a: Undefined }'),
    'graphql.parse: Error in gqlparser SchemaDocument to Schema conversion: input:1:17: Undefined type Undefined.',
  );
});

test('AST objects keep inline fragments and fragment spreads apart from fields', () => {
  const schema = 'type Query { node: Node }\ninterface Node { id: ID! }\ntype User implements Node { id: ID! name: String }';
  const query = '{ node { id ... on User { name } ...F } }\nfragment F on User { name }';
  assert.equal(call('graphql.is_valid', query, schema), true);
  const ast = call('graphql.parse_query', query);
  assert.equal(call('graphql.is_valid', ast, schema), true);
  // and a wrong field inside the inline fragment is still caught from the AST
  const bad = call('graphql.parse_query', '{ node { ... on User { nope } } }');
  assert.equal(call('graphql.is_valid', bad, schema), false);
});

test('absurdly nested documents fail cleanly instead of crashing', () => {
  const deep = '{ a'.repeat(50_000) + ' }'.repeat(50_000);
  throwsBuiltin(() => call('graphql.parse_query', deep), 'graphql.parse_query: GraphQL document nested too deeply');
  assert.equal(call('graphql.is_valid', deep, 'type Query { a: Int }'), false);
});

test('graphql built-ins evaluate inside a policy', () => {
  const policy = compile([
    {
      filename: 'gql.rego',
      source: 'package gql\n\nimport rego.v1\n\nallow if {\n  graphql.is_valid(input.query, data.schema)\n}\n\nops := [op.Operation | some op in graphql.parse_query(input.query).Operations]\n',
    },
  ]);
  const data = { schema: 'type Query { a: Int }\ntype Mutation { b: Int }' };
  assert.deepEqual(policy.evaluate('data.gql.allow', { input: { query: 'mutation { b }' }, data, now: new Date(0) }), true);
  assert.deepEqual(policy.evaluate('data.gql.ops', { input: { query: '{ a } mutation M { b }' }, data, now: new Date(0) }), ['query', 'mutation']);
  assert.equal(policy.evaluate('data.gql.allow', { input: { query: '{ c }' }, data, now: new Date(0) }), undefined);
});
