/**
 * How versions are named in the model store. The archive step, the rotation
 * step and config.properties (`load_models`, `marName`) all use these names.
 * A version is one entry: a `<model>.<version>.mar` file (a zip TorchServe
 * unpacks into its temp dir), or a `<model>.<version>` directory (the
 * archiver's `no-archive` output, which TorchServe 0.12 loads in place).
 */
import { isLabelValue, isModelName } from "../config";

/** Older entries move to `backup/` in the stack's part. */
export const BACKUP_DIR = "backup";

/** What a version's entry in the store is: a `.mar` file or a model directory. */
export type EntryKind = "mar" | "dir";

/** The file in a model directory that makes it one (the archiver writes it; TorchServe reads it). */
export const MANIFEST_PATH = "MAR-INF/MANIFEST.json";

/** File name of one archived version. Model names have no dots, so the name splits back. */
export function archiveFileName(model: string, version: string): string {
    return entryName(model, version, "mar");
}

/** The store entry of one version: `<model>.<version>.mar` or the directory `<model>.<version>`. */
export function entryName(model: string, version: string, kind: EntryKind): string {
    return kind === "mar" ? `${model}.${version}.mar` : `${model}.${version}`;
}

/** The model and version of an archive file name, or undefined when it is not one of ours. */
export function parseArchiveFileName(file: string): { model: string; version: string } | undefined {
    return file.endsWith(".mar") ? parseStem(file.slice(0, -".mar".length)) : undefined;
}

/**
 * The model and version of an entry name of `kind`, or undefined when it is
 * not one of ours. Callers say which kind they look at (a file or a directory).
 */
export function parseEntryName(name: string, kind: EntryKind): { model: string; version: string } | undefined {
    if (kind === "mar") {
        return parseArchiveFileName(name);
    }
    // A directory named like an archive is not a version's directory (it would be version `<v>.mar`, which
    // validation refuses). `demo.mar` names no archive (no version before `.mar`): version `mar`'s directory.
    return parseArchiveFileName(name) ? undefined : parseStem(name);
}

function parseStem(stem: string): { model: string; version: string } | undefined {
    if (stem.includes("/")) {
        return undefined;
    }
    const dot = stem.indexOf(".");
    if (dot <= 0) {
        return undefined;
    }
    const model = stem.slice(0, dot);
    const version = stem.slice(dot + 1);
    return isModelName(model) && isLabelValue(version) && version !== "" ? { model, version } : undefined;
}
