/**
 * Command lines of the archive and rotation steps. Pure, so a preview shows
 * exactly what `pulumi up` will run, and tests can check it.
 */
import * as path from "node:path";
import { ModelSettings, shellQuote } from "../config";

/** The archive step's parameters (what `cli/archive.ts` receives). */
export interface ArchiveSpec {
    readonly store: string;
    readonly model: string;
    readonly version: string;
    readonly archiver: string;
    readonly serializedFile: string;
    readonly handler: string;
    readonly extraFiles: readonly string[];
    readonly requirementsFile?: string;
    readonly archiveFormat: string;
}

/** The rotation step's parameters (what `cli/rotate.ts` receives). */
export interface RotateSpec {
    readonly store: string;
    readonly model: string;
    readonly current: string;
    readonly keep: number;
}

/** The archive spec of a model version. */
export function archiveSpec(model: ModelSettings, version: string): ArchiveSpec {
    return {
        store: model.storePath,
        model: model.name,
        version,
        archiver: model.archiverCommand,
        serializedFile: model.serializedFile,
        handler: model.handler,
        extraFiles: model.extraFiles,
        requirementsFile: model.requirementsFile,
        archiveFormat: model.archiveFormat,
    };
}

/** `torch-model-archiver` arguments (everything but the executable) for an export directory. */
export function archiverArgv(spec: ArchiveSpec, exportPath: string): string[] {
    const argv = [
        "--model-name",
        spec.model,
        "--version",
        spec.version,
        "--serialized-file",
        spec.serializedFile,
        "--handler",
        spec.handler,
    ];
    if (spec.extraFiles.length > 0) {
        argv.push("--extra-files", spec.extraFiles.join(","));
    }
    if (spec.requirementsFile) {
        argv.push("--requirements-file", spec.requirementsFile);
    }
    argv.push("--export-path", exportPath, "--archive-format", spec.archiveFormat, "--force");
    return argv;
}

/**
 * A step script's path relative to `workDir`, the directory the commands run in, so state does
 * not depend on where the repo is checked out.
 */
export function scriptPath(workDir: string, script: "archive" | "rotate"): string {
    return path.relative(workDir, path.join(__dirname, `${script}.js`)) || `${script}.js`;
}

/** The archive step's shell command. */
export function archiveCommand(script: string, spec: ArchiveSpec): string {
    const words = [
        "node",
        script,
        "--store",
        spec.store,
        "--model",
        spec.model,
        "--version",
        spec.version,
        "--archiver",
        spec.archiver,
        "--serialized-file",
        spec.serializedFile,
        "--handler",
        spec.handler,
        ...spec.extraFiles.flatMap((file) => ["--extra-file", file]),
        ...(spec.requirementsFile ? ["--requirements-file", spec.requirementsFile] : []),
        "--archive-format",
        spec.archiveFormat,
    ];
    return words.map(shellQuote).join(" ");
}

/** The rotation step's shell command. */
export function rotateCommand(script: string, spec: RotateSpec): string {
    return [
        "node",
        script,
        "--store",
        spec.store,
        "--model",
        spec.model,
        "--current",
        spec.current,
        "--keep",
        String(spec.keep),
    ]
        .map(shellQuote)
        .join(" ");
}
