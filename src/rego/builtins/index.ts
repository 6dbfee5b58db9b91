/** The standard library: every built-in the engine knows, by name. Each family lives in its own module. */
import type { BuiltinDef } from './types.js';
import { ARITH_BUILTINS } from './arith.js';
import { COMPARE_BUILTINS } from './compare.js';
import { BITS_BUILTINS } from './bits.js';
import { AGGREGATE_BUILTINS } from './aggregates.js';
import { STRING_BUILTINS } from './strings.js';
import { SPRINTF_BUILTINS } from './sprintf.js';
import { TEMPLATE_BUILTINS } from './template.js';
import { REGEX_BUILTINS } from './regex.js';
import { GLOB_BUILTINS } from './glob.js';
import { GLOBS_BUILTINS } from './globs.js';
import { COLLECTION_BUILTINS } from './collections.js';
import { OBJECT_BUILTINS } from './objects.js';
import { TYPE_BUILTINS } from './typefns.js';
import { ENCODING_BUILTINS } from './encoding.js';
import { CRYPTO_BUILTINS } from './crypto.js';
import { TIME_BUILTINS } from './time.js';
import { NET_BUILTINS } from './net.js';
import { SEMVER_BUILTINS } from './semver.js';
import { UNITS_BUILTINS } from './units.js';
import { GRAPH_BUILTINS } from './graph.js';
import { UUID_BUILTINS } from './uuid.js';
import { MISC_BUILTINS } from './misc.js';
import { JWT_BUILTINS } from './jwt.js';
import { X509_BUILTINS } from './x509.js';
import { PROVIDER_BUILTINS } from './providers.js';
import { GRAPHQL_BUILTINS } from './graphql.js';

export const STANDARD_BUILTINS: BuiltinDef[] = [
  ...ARITH_BUILTINS,
  ...COMPARE_BUILTINS,
  ...BITS_BUILTINS,
  ...AGGREGATE_BUILTINS,
  ...STRING_BUILTINS,
  ...SPRINTF_BUILTINS,
  ...TEMPLATE_BUILTINS,
  ...REGEX_BUILTINS,
  ...GLOB_BUILTINS,
  ...GLOBS_BUILTINS,
  ...COLLECTION_BUILTINS,
  ...OBJECT_BUILTINS,
  ...TYPE_BUILTINS,
  ...ENCODING_BUILTINS,
  ...CRYPTO_BUILTINS,
  ...TIME_BUILTINS,
  ...NET_BUILTINS,
  ...SEMVER_BUILTINS,
  ...UNITS_BUILTINS,
  ...GRAPH_BUILTINS,
  ...UUID_BUILTINS,
  ...MISC_BUILTINS,
  ...JWT_BUILTINS,
  ...X509_BUILTINS,
  ...PROVIDER_BUILTINS,
  ...GRAPHQL_BUILTINS,
];
