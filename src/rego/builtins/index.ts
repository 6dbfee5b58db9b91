/** The standard library: every built-in the engine knows, by name. Filled in by the modules in this folder. */
import type { BuiltinDef } from './types.js';

export const STANDARD_BUILTINS: BuiltinDef[] = [];
