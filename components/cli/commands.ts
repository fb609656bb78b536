/**
 * Command lines of the archive and rotation steps (and of the report of a
 * failed rollout), and their parsing back in the step scripts. Pure, so a
 * preview shows exactly what `pulumi up` will run, and a test can check that
 * what the program writes is what a step reads.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ModelArtifacts, ModelSettings, shellQuote } from "../config";
import { StoreOwner } from "../store";

/** How a new model's archive is built (what `torch-model-archiver` gets). */
export interface ArchiveBuild extends ModelArtifacts {
    readonly archiver: string;
    /** `archiveFormat` (`directory`, `zip-store`, `default`), or the archiver's own `--archive-format` value. */
    readonly archiveFormat: string;
}

/** The archive step's parameters (what `cli/archive.ts` receives). */
export interface ArchiveSpec {
    /** The model-store volume's local mount. */
    readonly store: string;
    /** The stack's part of it. */
    readonly subdir: string;
    readonly owner: StoreOwner;
    readonly model: string;
    readonly version: string;
    /** Content hash of the archive's inputs ("" when switching to an archive of unknown origin). */
    readonly fingerprint: string;
    /** Bytes of the inputs (0 when switching). */
    readonly bytes: number;
    /** Every version the pods will load, `version` first: all must be in the stack's part. */
    readonly served: readonly string[];
    /**
     * Those of `served` that config.properties names as directories (`<model>.<version>`); the others
     * as `.mar` files. The step publishes `version` as named, and checks that every served entry is.
     */
    readonly directories: readonly string[];
    /** Set when the run brings new files: build `version` from them unless its archive exists. */
    readonly build?: ArchiveBuild;
}

/** The rotation step's parameters (what `cli/rotate.ts` receives). */
export interface RotateSpec {
    readonly store: string;
    readonly subdir: string;
    readonly owner: StoreOwner;
    readonly model: string;
    /** Versions that stay in the stack's part, the deployed one first; other archives of the model move to backup/. */
    readonly keep: readonly string[];
}

/** What the report of a failed rollout needs (what `cli/rolloutReport.ts` receives). */
export interface RolloutReportSpec {
    readonly namespace: string;
    readonly app: string;
    readonly model: string;
    /** The version whose rollout failed. */
    readonly version: string;
    /** The version deployed before (still serving), "" when none was. */
    readonly previous: string;
    readonly stack: string;
    /** The ReplicaSet the controller gave up on. */
    readonly replicaSet: string;
    readonly startupSeconds: number;
    readonly marginSeconds: number;
    /** The kubeconfig context the Kubernetes provider uses (`kubernetes:context`), if set. */
    readonly context?: string;
}

/** The archive spec of a planned release. */
export function archiveSpec(
    model: ModelSettings,
    owner: StoreOwner,
    release: {
        readonly version: string;
        readonly fingerprint: string;
        readonly bytes: number;
        readonly served: readonly string[];
        readonly directories: readonly string[];
    },
): ArchiveSpec {
    if (model.storePath === undefined) {
        throw new Error("a run that brings a model needs modelStorePath");
    }
    return {
        store: model.storePath,
        subdir: model.storeSubdir,
        owner,
        model: model.name,
        version: release.version,
        fingerprint: release.fingerprint,
        bytes: release.bytes,
        served: release.served,
        directories: release.directories,
        build: model.artifacts && {
            ...model.artifacts,
            archiver: model.archiverCommand,
            archiveFormat: model.archiveFormat,
        },
    };
}

/**
 * The archiver's `--archive-format` for an entry of `kind`: `no-archive` for a directory; for a
 * `.mar`, the configured format (`zip-store` when that is `directory`: a version the release names
 * as a `.mar`, rebuilt).
 */
export function archiverFormat(kind: "mar" | "dir", archiveFormat: string): string {
    if (kind === "dir") {
        return "no-archive";
    }
    return archiveFormat === "directory" ? "zip-store" : archiveFormat;
}

/** `torch-model-archiver` arguments (everything but the executable) for an export directory. */
export function archiverArgv(model: string, version: string, build: ArchiveBuild, exportPath: string): string[] {
    const argv = ["--model-name", model, "--version", version];
    argv.push("--serialized-file", build.serializedFile, "--handler", build.handler);
    if (build.extraFiles.length > 0) {
        argv.push("--extra-files", build.extraFiles.join(","));
    }
    if (build.requirementsFile) {
        argv.push("--requirements-file", build.requirementsFile);
    }
    argv.push("--export-path", exportPath, "--archive-format", build.archiveFormat, "--force");
    return argv;
}

/**
 * A step script's path relative to `workDir`, the directory the commands run in, so state does
 * not depend on where the repo is checked out.
 */
export function scriptPath(workDir: string, script: "archive" | "rotate" | "rolloutReport"): string {
    return path.relative(workDir, path.join(__dirname, `${script}.js`)) || `${script}.js`;
}

function ownerWords(owner: StoreOwner): string[] {
    return ["--owner", owner.stack, "--namespace", owner.namespace, "--app", owner.appName];
}

/** The archive step's shell command. */
export function archiveCommand(script: string, spec: ArchiveSpec): string {
    const words = ["node", script, "--store", spec.store, "--subdir", spec.subdir, ...ownerWords(spec.owner)];
    words.push("--model", spec.model, "--version", spec.version, "--fingerprint", spec.fingerprint || "-");
    words.push("--bytes", String(spec.bytes), "--served", spec.served.join(","));
    if (spec.directories.length > 0) {
        words.push("--directories", spec.directories.join(","));
    }
    const build = spec.build;
    if (build) {
        words.push("--archiver", build.archiver, "--archive-format", build.archiveFormat);
        words.push("--serialized-file", build.serializedFile, "--handler", build.handler);
        build.extraFiles.forEach((file) => words.push("--extra-file", file));
        if (build.requirementsFile) {
            words.push("--requirements-file", build.requirementsFile);
        }
    }
    return words.map(shellQuote).join(" ");
}

/** The rotation step's shell command. */
export function rotateCommand(script: string, spec: RotateSpec): string {
    const words = ["node", script, "--store", spec.store, "--subdir", spec.subdir, ...ownerWords(spec.owner)];
    words.push("--model", spec.model, "--keep", spec.keep.join(","));
    return words.map(shellQuote).join(" ");
}

/** The rollout report's shell command. */
export function rolloutReportCommand(script: string, spec: RolloutReportSpec): string {
    const words = ["node", script, "--namespace", spec.namespace, "--app", spec.app, "--model", spec.model];
    words.push("--version", spec.version, "--previous", spec.previous || "-", "--stack", spec.stack);
    words.push("--replica-set", spec.replicaSet || "-", "--startup-seconds", String(spec.startupSeconds));
    words.push("--margin-seconds", String(spec.marginSeconds));
    if (spec.context) {
        words.push("--context", spec.context);
    }
    return words.map(shellQuote).join(" ");
}

/** A parsed flag's value; a missing or empty one is an error naming the flag. */
function requiredValue(values: Readonly<Record<string, unknown>>, name: string): string {
    const value = values[name];
    if (typeof value !== "string" || value === "") {
        throw new Error(`missing --${name}`);
    }
    return value;
}

/** The rollout report's arguments back into its spec (the inverse of {@link rolloutReportCommand}). */
export function parseRolloutReportArgs(argv: readonly string[]): RolloutReportSpec {
    const { values } = parseArgs({
        args: [...argv],
        options: {
            namespace: { type: "string" },
            app: { type: "string" },
            model: { type: "string" },
            version: { type: "string" },
            previous: { type: "string" },
            stack: { type: "string" },
            "replica-set": { type: "string" },
            "startup-seconds": { type: "string" },
            "margin-seconds": { type: "string" },
            context: { type: "string" },
        },
        strict: true,
    });
    const need = (name: keyof typeof values & string): string => requiredValue(values, name);
    const dash = (value: string) => (value === "-" ? "" : value);
    return {
        namespace: need("namespace"),
        app: need("app"),
        model: need("model"),
        version: need("version"),
        previous: dash(need("previous")),
        stack: need("stack"),
        replicaSet: dash(need("replica-set")),
        startupSeconds: Number(need("startup-seconds")),
        marginSeconds: Number(need("margin-seconds")),
        context: values.context,
    };
}

const OWNER_OPTIONS = {
    store: { type: "string" },
    subdir: { type: "string" },
    owner: { type: "string" },
    namespace: { type: "string" },
    app: { type: "string" },
    model: { type: "string" },
} as const;

/** The archive step's arguments back into its spec (the inverse of {@link archiveCommand}). */
export function parseArchiveArgs(argv: readonly string[]): ArchiveSpec {
    const { values } = parseArgs({
        args: [...argv],
        options: {
            ...OWNER_OPTIONS,
            version: { type: "string" },
            fingerprint: { type: "string" },
            bytes: { type: "string" },
            served: { type: "string" },
            // Absent in the command lines of releases from before directories: every entry a `.mar`.
            directories: { type: "string" },
            archiver: { type: "string" },
            "archive-format": { type: "string" },
            "serialized-file": { type: "string" },
            handler: { type: "string" },
            "extra-file": { type: "string", multiple: true },
            "requirements-file": { type: "string" },
        },
        strict: true,
    });
    const need = (name: keyof typeof values & string): string => requiredValue(values, name);
    const bytes = Number(need("bytes"));
    if (!Number.isInteger(bytes) || bytes < 0) {
        throw new Error(`--bytes must be a whole number, got ${values.bytes}`);
    }
    const fingerprint = need("fingerprint");
    const building = values["serialized-file"] !== undefined;
    return {
        store: need("store"),
        subdir: need("subdir"),
        owner: { stack: need("owner"), namespace: need("namespace"), appName: need("app") },
        model: need("model"),
        version: need("version"),
        fingerprint: fingerprint === "-" ? "" : fingerprint,
        bytes,
        served: need("served").split(","),
        directories: values.directories ? values.directories.split(",") : [],
        build: building
            ? {
                  archiver: need("archiver"),
                  archiveFormat: need("archive-format"),
                  serializedFile: need("serialized-file"),
                  handler: need("handler"),
                  extraFiles: values["extra-file"] ?? [],
                  requirementsFile: values["requirements-file"],
              }
            : undefined,
    };
}

/** The rotation step's arguments back into its spec (the inverse of {@link rotateCommand}). */
export function parseRotateArgs(argv: readonly string[]): RotateSpec {
    const { values } = parseArgs({
        args: [...argv],
        options: { ...OWNER_OPTIONS, keep: { type: "string" } },
        strict: true,
    });
    const need = (name: keyof typeof values & string): string => requiredValue(values, name);
    return {
        store: need("store"),
        subdir: need("subdir"),
        owner: { stack: need("owner"), namespace: need("namespace"), appName: need("app") },
        model: need("model"),
        keep: need("keep").split(","),
    };
}
