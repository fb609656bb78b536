/**
 * POSIX sh quoting, for the commands a shell runs: the fixes config errors
 * suggest (`pulumi config set ...`) and the archive and rotation steps.
 */

/** Quotes one word for POSIX sh; plain words stay readable. */
export function shellQuote(word: string): string {
    return /^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
