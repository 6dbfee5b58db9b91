/** Typed errors of the Rego engine. `code` follows OPA (`rego_parse_error`, `eval_conflict_error`, …). */
export interface Location {
  file: string;
  row: number;
  col: number;
}

export type RegoErrorCode =
  | 'rego_parse_error'
  | 'rego_compile_error'
  | 'rego_type_error'
  | 'rego_unsafe_var_error'
  | 'rego_recursion_error'
  | 'eval_conflict_error'
  | 'eval_type_error'
  | 'eval_builtin_error'
  | 'eval_cancel_error'
  | 'eval_limit_error'
  | 'eval_internal_error';

export class RegoError extends Error {
  readonly code: RegoErrorCode;
  readonly location: Location | undefined;
  /** The message without location/code prefix. */
  readonly detail: string;
  constructor(code: RegoErrorCode, detail: string, location?: Location) {
    // OPA's formats: compile-time errors carry file:row:col, evaluation errors file:row.
    const where = location ? (code.startsWith('eval_') ? `${location.file}:${location.row}: ` : `${location.file}:${location.row}:${location.col}: `) : '';
    super(`${where}${code}: ${detail}`);
    this.name = 'RegoError';
    this.code = code;
    this.detail = detail;
    this.location = location;
  }
}
