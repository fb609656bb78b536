/**
 * Settings of the model and its archive step: the files packed into the
 * `.mar`, how it is built, how many archives stay, and where the model store
 * is mounted on the machine that runs `pulumi up`.
 */
import { DEFAULTS } from "./defaults";
import { ProblemList, setCommand as set, setPathCommand as setPath } from "./errors";
import { ARCHIVE_FORMATS, ArchiveFormat, TorchServeStackArgs } from "./stackArgs";
import { isIntInRange, isLabelValue, isModelName, isModelVersion } from "./validators";

/** Handler names TorchServe resolves without a handler file. */
export const BUILTIN_HANDLERS: readonly string[] = [
    "image_classifier",
    "image_segmenter",
    "object_detector",
    "text_classifier",
];

/** A handler given as a file path rather than a built-in handler name. */
export function isHandlerFile(handler: string): boolean {
    return handler.endsWith(".py") || handler.includes("/");
}

/** The files of a new model, packed into its archive. */
export interface ModelArtifacts {
    readonly serializedFile: string;
    readonly handler: string;
    readonly extraFiles: readonly string[];
    readonly requirementsFile?: string;
}

export interface ModelSettings {
    readonly name: string;
    /** The version the user set, if any; with new files and none, a content hash is used. */
    readonly explicitVersion?: string;
    /** The new model's files: set when the run brings a new model (`serializedFile`). */
    readonly artifacts?: ModelArtifacts;
    readonly archiveFormat: ArchiveFormat;
    /** Archives kept in the stack's part of the store. */
    readonly keep: number;
    /** Versions every pod loads (≤ keep). */
    readonly served: number;
    readonly archiverCommand: string;
    /** Local mount path of the model-store volume; needed when the run brings a model. */
    readonly storePath?: string;
    /** The stack's part of the store, relative to the volume's root. */
    readonly storeSubdir: string;
}

/**
 * What a run brings: new model files (`serializedFile`), a version alone (switch
 * to its archive), or nothing (keep the deployed model).
 */
export function modelRunKind(model: Pick<ModelSettings, "artifacts" | "explicitVersion">): "new" | "switch" | "keep" {
    return model.artifacts ? "new" : model.explicitVersion !== undefined ? "switch" : "keep";
}

/** What validation may ask of the file system; injectable for tests. */
export interface FileChecks {
    /** True when `file` (relative to the project directory or absolute) is an existing regular file. */
    isFile(file: string): boolean;
}

export function resolveModel(
    args: TorchServeStackArgs,
    files: FileChecks,
    problems: ProblemList,
    storeSubdirDefault: string,
): ModelSettings {
    if (!args.modelName) {
        problems.add({
            key: "modelName",
            value: args.modelName,
            problem: "is required: it is the stable name clients call at /predictions/<modelName>",
            fix: set("modelName", "resnet"),
        });
    } else if (!isModelName(args.modelName)) {
        problems.add({
            key: "modelName",
            value: args.modelName,
            problem:
                "may only use letters, digits, '_' and '-' (no dots), starting with a letter or digit, at most 64 " +
                "characters",
            fix: set(
                "modelName",
                args.modelName.replace(/[^A-Za-z0-9_-]/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "model",
            ),
        });
    }
    if (args.modelVersion !== undefined && (args.modelVersion === "" || !isLabelValue(args.modelVersion))) {
        problems.add({
            key: "modelVersion",
            value: args.modelVersion,
            problem:
                "must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and " +
                "ending with a letter or digit",
            fix:
                `${set("modelVersion", "2026-11-24.1")}, ` +
                "or remove it to use a content hash: pulumi config rm modelVersion",
        });
    } else if (args.modelVersion !== undefined && !isModelVersion(args.modelVersion)) {
        // The message does not repeat the value: problem and fix stay free of what the user typed.
        problems.add({
            key: "modelVersion",
            value: args.modelVersion,
            problem: args.modelVersion.includes("..")
                ? "must not contain '..': TorchServe refuses to load a model whose entry name holds it " +
                  "(a relative path), so the new pods would never be ready"
                : "must not end in .mar: the store names a version's directory <modelName>.<version> and its " +
                  "archive <modelName>.<version>.mar, so this version's directory would have the name of another " +
                  "version's archive, and the rotation after the rollout could not find it",
            fix: `use a version without it (a version is a name, not a file): ${set("modelVersion", "2026-11-24.1")}`,
        });
    }
    // Only a run that brings new files reads them: a pull request's preview has none,
    // and a committed handler path must not fail it.
    const artifacts = args.serializedFile !== undefined ? resolveArtifacts(args, files, problems) : undefined;

    const archiveFormat = args.archiveFormat ?? DEFAULTS.archiveFormat;
    if (!ARCHIVE_FORMATS.includes(archiveFormat)) {
        problems.add({
            key: "archiveFormat",
            value: archiveFormat,
            problem:
                `must be one of ${ARCHIVE_FORMATS.join(", ")} ` +
                "(directory is the archiver's no-archive output; a tgz is neither a .mar nor a directory " +
                "TorchServe loads in place)",
            fix: set("archiveFormat", DEFAULTS.archiveFormat),
        });
    }
    const keep = args.archiveKeep ?? DEFAULTS.archiveKeep;
    if (!isIntInRange(keep, 1, 100)) {
        problems.add({
            key: "archiveKeep",
            value: keep,
            problem: "must be a whole number from 1 to 100 (the deployed version is always kept)",
            fix: set("archiveKeep", String(DEFAULTS.archiveKeep)),
        });
    }
    const served = args.servedVersions ?? DEFAULTS.servedVersions;
    if (!isIntInRange(served, 1, 100)) {
        problems.add({
            key: "servedVersions",
            value: served,
            problem: "must be a whole number from 1 to 100 (the deployed version is always served)",
            fix: set("servedVersions", String(DEFAULTS.servedVersions)),
        });
    } else if (isIntInRange(keep, 1, 100) && served > keep) {
        problems.add({
            key: "servedVersions",
            value: served,
            problem: `is larger than archiveKeep (${keep}): the pods can only load archives the store keeps`,
            fix: `${set("servedVersions", String(keep))}, or ${set("archiveKeep", String(served))}`,
        });
    }
    const archiverCommand = args.archiverCommand ?? DEFAULTS.archiverCommand;
    if (!archiverCommand.trim()) {
        problems.add({
            key: "archiverCommand",
            value: archiverCommand,
            problem: "is empty",
            fix: `pulumi config rm archiverCommand (uses ${DEFAULTS.archiverCommand} from PATH)`,
        });
    }
    const bringsModel = artifacts !== undefined || args.modelVersion !== undefined;
    if (bringsModel && !args.modelStorePath) {
        problems.add({
            key: "modelStorePath",
            value: args.modelStorePath,
            problem:
                "is required when a run brings a model (serializedFile or modelVersion): the local path where the " +
                "model-store volume is mounted on the machine that runs the deploy",
            fix:
                "npm run deploy -- --model-store-path /mnt/model-store ..., " +
                `or ${set("modelStorePath", "/mnt/model-store")}`,
        });
    }
    const storeSubdir = args.modelStoreSubdir ?? storeSubdirDefault;
    if (!isStoreSubdir(storeSubdir)) {
        problems.add({
            key: "modelStoreSubdir",
            value: storeSubdir,
            problem:
                "must be a relative directory of lowercase letters, digits, '-', '_' and '.' segments separated " +
                "by '/', without '.' or '..' segments",
            fix: set("modelStoreSubdir", "ml-prod/torchserve"),
        });
    }
    return {
        name: args.modelName,
        explicitVersion: args.modelVersion,
        artifacts,
        archiveFormat,
        keep,
        served,
        archiverCommand,
        storePath: args.modelStorePath,
        storeSubdir,
    };
}

/** A directory inside the store: relative, no `.`/`..` segments, plain characters (it is also a pod's subPath). */
export function isStoreSubdir(value: string): boolean {
    const segments = value.split("/");
    return (
        value.length > 0 &&
        value.length <= 200 &&
        segments.every((s) => /^[a-z0-9_.-]+$/.test(s) && s !== "." && s !== ".." && !s.startsWith("."))
    );
}

function resolveArtifacts(args: TorchServeStackArgs, files: FileChecks, problems: ProblemList): ModelArtifacts {
    const requireFile = (key: string, file: string | undefined, what: string) => {
        if (!file) {
            problems.add({
                key,
                value: file,
                problem: `is required with serializedFile: ${what}`,
                fix: set(key, "path/to/file"),
            });
        } else if (!files.isFile(file)) {
            problems.add({
                key,
                value: file,
                problem:
                    `${what} does not exist or is not a file on this machine (a run that brings a model ` +
                    "reads its files: run it where they are, e.g. the training pipeline's deploy step)",
                fix:
                    `write the file first, or point ${key} at it: ${set(key, "path/to/file")} ` +
                    "(relative paths start at the project directory)",
            });
        }
    };
    requireFile("serializedFile", args.serializedFile, "the serialized model to archive");
    const handler = args.handler;
    if (handler && !isHandlerFile(handler)) {
        if (!BUILTIN_HANDLERS.includes(handler)) {
            problems.add({
                key: "handler",
                value: handler,
                problem: `is neither a .py file nor a built-in handler (${BUILTIN_HANDLERS.join(", ")})`,
                fix: set("handler", "handler.py"),
            });
        }
    } else {
        requireFile("handler", handler, "the handler file");
    }
    const extraFiles = args.extraFiles ?? DEFAULTS.extraFiles;
    if (!Array.isArray(extraFiles)) {
        problems.add({
            key: "extraFiles",
            value: extraFiles,
            problem: "must be a list of file paths",
            fix: `pulumi config set --path 'extraFiles[0]' labels.json`,
        });
    } else {
        extraFiles.forEach((file, i) => {
            if (typeof file !== "string" || !files.isFile(file)) {
                problems.add({
                    key: `extraFiles[${i}]`,
                    value: file,
                    problem: "does not exist or is not a file",
                    fix: `create it or remove it from the list: ${setPath(`extraFiles[${i}]`, "path/to/file")}`,
                });
            } else if (/[,*?[\]]/.test(file)) {
                problems.add({
                    key: `extraFiles[${i}]`,
                    value: file,
                    problem:
                        "contains a comma or a wildcard character (* ? [ ]), which torch-model-archiver's " +
                        "--extra-files treats as a separator or a pattern",
                    fix: "rename the file without those characters",
                });
            }
        });
    }
    if (args.requirementsFile !== undefined) {
        requireFile("requirementsFile", args.requirementsFile, "the requirements file");
    }
    return {
        serializedFile: args.serializedFile ?? "",
        handler: handler ?? "",
        extraFiles: Array.isArray(extraFiles) ? extraFiles : [],
        requirementsFile: args.requirementsFile,
    };
}
