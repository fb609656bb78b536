/**
 * Reads and arranges the model store through its local mount. Only this
 * model's archives (`<model>.*.mar` that parse back to exactly this model)
 * are ever touched, so other models' files and anything else a user put
 * there stay as they are.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { escape, globSync } from "glob";
import { isRegularFile } from "./files";
import { parseArchiveFileName } from "./archiveNames";
import { ArchiveLocation, StoreLayout, archiveLocations } from "./storeLayout";

/** The versions of this model's archives directly in `dir` (not in backup/). Empty when `dir` does not exist. */
export function listArchiveVersions(dir: string, model: string): string[] {
    if (!fs.existsSync(dir)) {
        return [];
    }
    const files = globSync(`${escape(model)}.*.mar`, { cwd: dir, nodir: true, dot: false });
    return files
        .map((file) => parseArchiveFileName(file))
        .filter((parsed) => parsed !== undefined && parsed.model === model)
        .map((parsed) => parsed!.version)
        .sort();
}

/** The first place that holds the version's archive (the stack's part, its backup, the old flat layout). */
export function findArchive(layout: StoreLayout, model: string, version: string): ArchiveLocation | undefined {
    return archiveLocations(layout, model, version).find((location) => isRegularFile(location.file));
}

/**
 * Makes sure the version's archive is in the stack's part: restores it from
 * backup/ (a rename), or links one of the old flat layout into the part (a
 * hard link, or a copy where the volume cannot link; the original stays).
 * Returns where it was found, or undefined when the store has none.
 */
export function bringIntoPart(layout: StoreLayout, model: string, version: string): ArchiveLocation | undefined {
    const location = findArchive(layout, model, version);
    if (!location || location.where === "store") {
        return location;
    }
    const target = archiveLocations(layout, model, version)[0].file;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (location.where === "backup") {
        fs.renameSync(location.file, target);
        return location;
    }
    const temp = `${target}.linking-${process.pid}`;
    try {
        fs.linkSync(location.file, temp);
    } catch {
        fs.copyFileSync(location.file, temp);
    }
    fs.renameSync(temp, target);
    return location;
}
