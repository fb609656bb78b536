/**
 * How archives are named in the model store. The archive step, the rotation
 * step and config.properties (`load_models`, `marName`) all use these names.
 */
import { isLabelValue, isModelName } from "../config";

/** Archives live flat in the store as `<model>.<version>.mar`; older ones in `backup/`. */
export const BACKUP_DIR = "backup";

/** File name of one archived version. Model names have no dots, so the name splits back. */
export function archiveFileName(model: string, version: string): string {
    return `${model}.${version}.mar`;
}

/** The model and version of an archive file name, or undefined when it is not one of ours. */
export function parseArchiveFileName(file: string): { model: string; version: string } | undefined {
    if (!file.endsWith(".mar") || file.includes("/")) {
        return undefined;
    }
    const stem = file.slice(0, -".mar".length);
    const dot = stem.indexOf(".");
    if (dot <= 0) {
        return undefined;
    }
    const model = stem.slice(0, dot);
    const version = stem.slice(dot + 1);
    return isModelName(model) && isLabelValue(version) && version !== "" ? { model, version } : undefined;
}
