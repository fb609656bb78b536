/** File-system checks shared by validation and the model store. */
import * as fs from "node:fs";

/**
 * True when `file` exists and is a regular file, or a link to one (false for directories and missing
 * paths). For a user's inputs, which may be links (a data-version tool's cache); never for the store.
 */
export function isRegularFile(file: string): boolean {
    try {
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/**
 * True when `file` is itself a regular file: a link is not, wherever it points. Entries of the store
 * are found with this, so nothing outside the store (a link's target) is ever linked, copied or
 * served as an entry.
 */
export function isStoreFile(file: string): boolean {
    try {
        return fs.lstatSync(file).isFile();
    } catch {
        return false;
    }
}
