// One thing wrong with a configuration, located where the operator can fix it: a file line for YAML,
// a flag name for the command line. Formatted the way OpenBSD rad reports: `file:line: path: message`.

export interface ConfigProblem {
  /** The config file, or null when the value came from a flag or there was no file. */
  readonly file: string | null;
  /** 1-based, when known. */
  readonly line: number | null;
  readonly column: number | null;
  /** Where in the document: "rules[2].mss", or the flag: "--set-mss"; "" for the whole file. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

export type ConfigResult<T> =
  { readonly ok: true; readonly config: T } | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export function formatProblem(problem: ConfigProblem): string {
  let where = '';
  if (problem.file !== null) where = problem.line === null ? `${problem.file}: ` : `${problem.file}:${problem.line}: `;
  const path = problem.path === '' ? '' : `${problem.path}: `;
  return `${where}${path}${problem.message}`;
}
