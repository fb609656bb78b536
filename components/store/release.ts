/**
 * A stack's model release: the version its pods serve and the versions they
 * load, recorded in the stack's outputs only after a deploy has rolled out and
 * the store was rotated (a failed deploy records nothing).
 *
 * Every run plans from the recorded release, never from a checkout or from
 * file times:
 * - a run that brings no model (a pull request's preview, an `up` of an
 *   infrastructure change from main) keeps the release as it is, archive and
 *   rotate steps included, so it needs no model files and no store;
 * - a run that brings one (new files, or `modelVersion` alone to switch to an
 *   archived version) puts it first and fills the rest from the history of
 *   successful deploys, so a version that failed to roll out is never loaded
 *   again unless it is the one being deployed.
 */
import { ConfigProblem, ConfigValidationError, setCommand } from "../config";
import { EntryKind } from "./archiveNames";

/**
 * Bump when the recorded shape changes; older records are read where they
 * can be. Schema 2 records each version's entry kind (a `.mar` file or a
 * directory); schema 1 has none, and all its versions are `.mar` files. A
 * release whose versions are all `.mar` files is still written as schema 1
 * (see {@link releaseSchema}), so the programs from before directories read it
 * right and refuse only what they would misread.
 */
export const RELEASE_SCHEMA = 2;
const READABLE_SCHEMAS = [1, 2];

/** How many successful deploys the history remembers (for rollbacks and fingerprint checks). */
export const HISTORY_LIMIT = 50;

/** One successfully deployed version. */
export interface DeployedVersion {
    readonly version: string;
    /** Content hash of the archive's inputs; "" when not known (an archive from before fingerprints were recorded). */
    readonly fingerprint: string;
    /** Bytes of the archive's inputs (≈ the archive); 0 when not known. Sizes the pods' temp storage. */
    readonly bytes: number;
    /**
     * The version's entry in the store: a `.mar` file or a directory. Absent in
     * releases recorded before directories existed: a `.mar` (see {@link entryKindOf}).
     */
    readonly entry?: EntryKind;
}

/** The entry kind of a recorded version: as recorded, or `.mar` for a record from before directories. */
export function entryKindOf(version: DeployedVersion): EntryKind {
    return version.entry ?? "mar";
}

/** The schema a release is written with: 1 while every version is a `.mar` (what older programs read), else 2. */
export function releaseSchema(history: readonly DeployedVersion[]): number {
    return history.some((h) => entryKindOf(h) === "dir") ? RELEASE_SCHEMA : 1;
}

/** The inputs of a step's Command resource as they were deployed. */
export interface StepInputs {
    readonly create: string;
    readonly triggers: readonly string[];
}

/** What a stack serves, as recorded in its `release` output. */
export interface Release {
    readonly schema: number;
    readonly modelName: string;
    /** The default version (`/predictions/<model>`). */
    readonly version: string;
    readonly fingerprint: string;
    /** Versions every pod loads, the default first. */
    readonly served: readonly string[];
    /** Successful deploys, newest first, the current one included. */
    readonly history: readonly DeployedVersion[];
    /** The stack's part of the model store, as the pods mount it. */
    readonly storeSubdir: string;
    /** The archive and rotate steps' inputs, kept as they are by runs that bring no model. */
    readonly steps: { readonly archive: StepInputs; readonly rotate: StepInputs };
}

/** What a run asks for. */
export type ModelRequest =
    /** No model files, no version: keep what is deployed. */
    | { readonly kind: "keep" }
    /**
     * A version without files: serve an entry already in the store (or its backup). Its kind is the
     * history's; for a version the history does not know, `entry` (what the store holds, when the
     * program can see it), else `.mar`.
     */
    | { readonly kind: "switch"; readonly version: string; readonly entry?: EntryKind }
    | {
          /** New model files, archived as `version`. */
          readonly kind: "new";
          readonly version: string;
          readonly fingerprint: string;
          readonly bytes: number;
          /**
           * The entry a version new to the history gets: what the store already holds for it, else what
           * `archiveFormat` builds. A version the history knows keeps its recorded entry.
           */
          readonly entry: EntryKind;
          /**
           * Fingerprints of the same files archived in the other formats: a version the history knows under
           * one of them names these files too (e.g. a `.mar` built before the default became `directory`).
           */
          readonly sameFiles?: readonly string[];
      };

/** The limits a plan respects (validated settings). */
export interface ReleaseLimits {
    readonly modelName: string;
    /** Archives kept in the store, the deployed one included. */
    readonly archiveKeep: number;
    /** Versions each pod loads, the deployed one included (≤ archiveKeep). */
    readonly servedVersions: number;
    /** The stack's part of the model store (`modelStoreSubdir`). */
    readonly storeSubdir: string;
    /** The stack, for messages. */
    readonly stack: string;
}

/** The next release, before it is deployed. */
export interface ReleasePlan {
    readonly request: ModelRequest["kind"];
    /** The schema to record the release with (a run that brings no model keeps the recorded one). */
    readonly schema: number;
    readonly version: string;
    readonly fingerprint: string;
    /** Versions the new pods load, the deployed one first. */
    readonly served: readonly DeployedVersion[];
    /** Versions whose archives stay in the store after the rollout (the rest move to backup/). */
    readonly keep: readonly string[];
    /** The history to record once the rollout succeeded. */
    readonly history: readonly DeployedVersion[];
    /** The stack's part of the store the pods mount (a run that brings no model keeps the deployed one). */
    readonly storeSubdir: string;
    /** For a run that keeps the release: the steps exactly as deployed. */
    readonly recordedSteps?: Release["steps"];
    /** Things the user should know that do not stop the run. */
    readonly notes: readonly string[];
}

/**
 * The recorded release from a stack output value, or undefined when there is
 * none (a new stack, or one deployed before releases were recorded). A value
 * that is there but unreadable is an error: guessing would risk rolling back.
 */
export function parseRelease(value: unknown): Release | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    const r = value as Partial<Release>;
    const isText = (v: unknown): v is string => typeof v === "string";
    const isSteps = (s: unknown): s is StepInputs =>
        typeof s === "object" &&
        s !== null &&
        isText((s as StepInputs).create) &&
        Array.isArray((s as StepInputs).triggers);
    const ok =
        typeof r === "object" &&
        READABLE_SCHEMAS.includes(r.schema as number) &&
        isText(r.modelName) &&
        isText(r.version) &&
        isText(r.fingerprint) &&
        Array.isArray(r.served) &&
        r.served.every(isText) &&
        Array.isArray(r.history) &&
        r.history.every(
            (h) =>
                isText(h?.version) &&
                isText(h?.fingerprint) &&
                typeof h?.bytes === "number" &&
                (h.entry === undefined || h.entry === "mar" || h.entry === "dir"),
        ) &&
        isText(r.storeSubdir) &&
        typeof r.steps === "object" &&
        r.steps !== null &&
        isSteps(r.steps.archive) &&
        isSteps(r.steps.rotate);
    if (!ok) {
        throw new Error(
            "the stack's recorded release is not one this program can read " +
                `(schema ${JSON.stringify(r?.schema)}, expected ${READABLE_SCHEMAS.join(" or ")}); ` +
                "deploy a model (npm run deploy -- --stack STACK --serialized-file ...) to record a new one",
        );
    }
    return r as Release;
}

/** Plans the next release. Throws ConfigValidationError with the key and the fix when the request cannot be served. */
export function planRelease(previous: Release | undefined, request: ModelRequest, limits: ReleaseLimits): ReleasePlan {
    const problems: ConfigProblem[] = [];
    if (request.kind === "keep") {
        if (!previous) {
            throw new ConfigValidationError([
                {
                    key: "serializedFile",
                    problem:
                        `is required: stack ${limits.stack} has no model deployed yet, ` +
                        "so the first deploy must bring one",
                    fix:
                        `npm run deploy -- --stack ${limits.stack} --serialized-file model.pt --handler handler.py ` +
                        `(or ${setCommand("serializedFile", "path/to/model.pt")})`,
                },
            ]);
        }
        if (previous.modelName !== limits.modelName) {
            throw new ConfigValidationError([
                {
                    key: "modelName",
                    value: limits.modelName,
                    problem:
                        `differs from the deployed model's name (${previous.modelName}); ` +
                        "a new name needs a deploy that brings the model",
                    fix:
                        `${setCommand("modelName", previous.modelName)}, or deploy the model under the new name: ` +
                        `npm run deploy -- --stack ${limits.stack} --serialized-file ...`,
                },
            ]);
        }
        const notes: string[] = [];
        if (previous.served.length !== Math.min(limits.servedVersions, previous.history.length)) {
            notes.push(
                `servedVersions ${limits.servedVersions} takes effect at the next model deploy ` +
                    `(the pods load ${previous.served.join(", ")} until then)`,
            );
        }
        if (previous.storeSubdir !== limits.storeSubdir) {
            notes.push(
                `modelStoreSubdir ${limits.storeSubdir} takes effect at the next model deploy ` +
                    `(the pods use ${previous.storeSubdir} until then)`,
            );
        }
        const byVersion = new Map(previous.history.map((h) => [h.version, h]));
        return {
            request: "keep",
            schema: previous.schema,
            version: previous.version,
            fingerprint: previous.fingerprint,
            served: previous.served.map((v) => byVersion.get(v) ?? { version: v, fingerprint: "", bytes: 0 }),
            keep: [],
            // Recorded as it is (entries of older releases stay without a kind): a run that keeps changes nothing.
            history: previous.history,
            storeSubdir: previous.storeSubdir,
            recordedSteps: previous.steps,
            notes,
        };
    }
    const history = previous && previous.modelName === limits.modelName ? previous.history : [];
    const known = history.find((h) => h.version === request.version);
    let current: DeployedVersion;
    if (request.kind === "new") {
        const sameFiles = known !== undefined && (request.sameFiles ?? []).includes(known.fingerprint);
        if (known && known.fingerprint !== "" && known.fingerprint !== request.fingerprint && !sameFiles) {
            problems.push({
                key: "modelVersion",
                value: request.version,
                problem:
                    `already names other model files (deployed with fingerprint ${known.fingerprint.slice(0, 12)}, ` +
                    `these files are ${request.fingerprint.slice(0, 12)}); a version names one set of bytes`,
                fix:
                    "give these files a new version (npm run deploy -- --model-version NEW ...), " +
                    `or drop --serialized-file to switch back to ${request.version} as archived`,
            });
        }
        // A version the history knows keeps its entry's kind, and the fingerprint recorded with it when
        // there is one (the same files, maybe archived in another format).
        current = {
            version: request.version,
            fingerprint: known && known.fingerprint !== "" ? known.fingerprint : request.fingerprint,
            bytes: request.bytes,
            entry: known ? entryKindOf(known) : request.entry,
        };
    } else {
        current = known
            ? { ...known, entry: entryKindOf(known) }
            : { version: request.version, fingerprint: "", bytes: 0, entry: request.entry ?? "mar" };
    }
    if (problems.length > 0) {
        throw new ConfigValidationError(problems);
    }
    const others = history.filter((h) => h.version !== current.version).map((h) => ({ ...h, entry: entryKindOf(h) }));
    const ordered = [current, ...others];
    return {
        request: request.kind,
        schema: releaseSchema(ordered.slice(0, HISTORY_LIMIT)),
        version: current.version,
        fingerprint: current.fingerprint,
        served: ordered.slice(0, limits.servedVersions),
        keep: ordered.slice(0, limits.archiveKeep).map((h) => h.version),
        history: ordered.slice(0, HISTORY_LIMIT),
        storeSubdir: limits.storeSubdir,
        notes: [],
    };
}
