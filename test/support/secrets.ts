/**
 * Secret values for tests, and the check that a text holds no trace of one.
 * The values mix what JSON and shells escape (backslash, quotes, a line break)
 * with letters no message uses, so any copy of them is easy to tell.
 */
import assert from "node:assert/strict";

/** A secret with a backslash, both quotes and a line break: TorchServe would refuse it as a value. */
export const ESCAPED_SECRET = "Zq\\xJ\"vK\nwY'pQ";
/** A secret TorchServe accepts as a value (printable ASCII, no backslash), with both quotes. */
export const PLAIN_SECRET = "Zq7J\"vKwY'pQx";

/** Every substring of at least `length` characters (those of exactly `length` cover the longer ones). */
function substrings(text: string, length: number): string[] {
    return Array.from({ length: Math.max(0, text.length - length + 1) }, (_, i) => text.slice(i, i + length));
}

/**
 * Asserts `text` holds neither the secret nor its JSON-escaped form, nor any piece of 4 characters of
 * either (the Pulumi CLI masks only the exact plaintext, so every other copy would be printed).
 */
export function assertNoSecret(text: string, secret: string, where: string): void {
    const escaped = JSON.stringify(secret).slice(1, -1);
    for (const piece of new Set([...substrings(secret, 4), ...substrings(escaped, 4)])) {
        assert.ok(!text.includes(piece), `${where} holds ${JSON.stringify(piece)} of the secret:\n${text}`);
    }
}
