/**
 * Reads the model store through its local mount. Only this model's archives
 * (`<model>.*.mar` that parse back to exactly this model) are ever returned,
 * so other models' files and anything else a user put there are never touched.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { escape, globSync } from "glob";
import { isRegularFile } from "./files";
import { BACKUP_DIR, archiveFileName, parseArchiveFileName } from "./archiveNames";
import { StoredArchive } from "./rotation";

/** This model's archives directly in the store (not in backup/). Empty when the store does not exist yet. */
export function listArchives(storeDir: string, model: string): StoredArchive[] {
    if (!fs.existsSync(storeDir)) {
        return [];
    }
    const files = globSync(`${escape(model)}.*.mar`, { cwd: storeDir, nodir: true, dot: false });
    const archives: StoredArchive[] = [];
    for (const file of files) {
        const parsed = parseArchiveFileName(file);
        if (parsed && parsed.model === model) {
            archives.push({ version: parsed.version, mtimeMs: fs.statSync(path.join(storeDir, file)).mtimeMs });
        }
    }
    return archives;
}

/** Where a version's archive is: in the store, in backup/, or nowhere yet. */
export function locateArchive(storeDir: string, model: string, version: string): "store" | "backup" | "absent" {
    const file = archiveFileName(model, version);
    if (isRegularFile(path.join(storeDir, file))) {
        return "store";
    }
    return isRegularFile(path.join(storeDir, BACKUP_DIR, file)) ? "backup" : "absent";
}
