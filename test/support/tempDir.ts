/** Temporary directories that are removed when the test process exits. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const created: string[] = [];
process.on("exit", () => {
    for (const dir of created) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

/** A new empty directory under the system temp dir, cleaned up at exit. */
export function tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    created.push(dir);
    return dir;
}
