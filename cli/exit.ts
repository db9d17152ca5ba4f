// Exit codes of every `faultline` command, documented in the README under "CLI". In a file of its
// own so the entry point can use them without loading the HTTP client.

export const EXIT = {
  ok: 0,
  error: 1,
  /** invalid input: a usage error (unknown command or flag, bad flag value), an unreadable or invalid file, 400/413/422 */
  invalid: 2,
  notFound: 3,
  conflict: 4,
  unavailable: 5,
  unauthorized: 6,
  aborted: 7,
  failed: 8,
  timeout: 9,
} as const;

export const EXIT_USAGE = EXIT.invalid;
