/** File-system checks shared by validation and the model store. */
import * as fs from "node:fs";

/** True when `file` exists and is a regular file (false for directories and missing paths). */
export function isRegularFile(file: string): boolean {
    try {
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}
