import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    HISTORY_LIMIT,
    Release,
    RELEASE_SCHEMA,
    entryKindOf,
    parseRelease,
    planRelease,
} from "../../../components/store";
import { ConfigValidationError } from "../../../components/config";

const limits = {
    modelName: "demo",
    archiveKeep: 3,
    servedVersions: 1,
    storeSubdir: "ml-prod/torchserve",
    stack: "prod",
};
/** A version as a release recorded it before directories (no entry kind: a `.mar`). */
const deployed = (version: string, fingerprint = `fp-${version}`, bytes = 100) => ({ version, fingerprint, bytes });
/** A version as the program plans and records it now, with its entry kind. */
const planned = (entry: "mar" | "dir", version: string, fingerprint = `fp-${version}`, bytes = 100) => ({
    version,
    fingerprint,
    bytes,
    entry,
});
const steps = {
    archive: { create: "node archive.js v3", triggers: ["v3"] },
    rotate: { create: "node rotate.js", triggers: ["v3"] },
};

function release(history: string[], served = history.slice(0, 1), over: Partial<Release> = {}): Release {
    return {
        schema: 1,
        modelName: "demo",
        version: history[0],
        fingerprint: `fp-${history[0]}`,
        served,
        history: history.map((v) => deployed(v)),
        storeSubdir: "ml-prod/torchserve",
        steps,
        ...over,
    };
}

describe("planning a release", () => {
    it("keeps the deployed release as it is when the run brings no model (a pull request, an infra change)", () => {
        const previous = release(["v3", "v2", "v1"], ["v3", "v2"]);
        const plan = planRelease(previous, { kind: "keep" }, { ...limits, servedVersions: 2 });
        assert.equal(plan.version, "v3");
        assert.deepEqual(
            plan.served.map((s) => s.version),
            ["v3", "v2"],
        );
        assert.equal(plan.recordedSteps, steps, "the steps exactly as deployed");
        assert.deepEqual(plan.history, previous.history);
        assert.deepEqual(plan.notes, []);
    });

    it("says when a changed model setting waits for the next model deploy, and keeps serving what it serves", () => {
        const plan = planRelease(
            release(["v3", "v2"]),
            { kind: "keep" },
            { ...limits, servedVersions: 2, storeSubdir: "x/y" },
        );
        assert.deepEqual(
            plan.served.map((s) => s.version),
            ["v3"],
        );
        assert.equal(plan.storeSubdir, "ml-prod/torchserve");
        assert.equal(plan.notes.length, 2);
        assert.match(plan.notes[0], /servedVersions 2 takes effect at the next model deploy/);
        assert.match(plan.notes[1], /modelStoreSubdir x\/y takes effect at the next model deploy/);
    });

    it("refuses to keep a model when none is deployed yet, naming the key and the deploy command", () => {
        assert.throws(
            () => planRelease(undefined, { kind: "keep" }, limits),
            (e: Error) =>
                e instanceof ConfigValidationError &&
                /serializedFile = \(not set\): is required: stack prod has no model deployed yet/.test(e.message) &&
                /npm run deploy -- --stack prod --serialized-file/.test(e.message),
        );
    });

    it("refuses a renamed model in a run that brings none", () => {
        assert.throws(
            () => planRelease(release(["v1"]), { kind: "keep" }, { ...limits, modelName: "other" }),
            /modelName = "other"/,
        );
    });

    it("puts a new version first and fills the served and kept versions from the successful history", () => {
        const plan = planRelease(
            release(["v3", "v2", "v1"]),
            { kind: "new", version: "v4", fingerprint: "fp-v4", bytes: 7, entry: "dir" },
            { ...limits, servedVersions: 2 },
        );
        assert.deepEqual(plan.served, [planned("dir", "v4", "fp-v4", 7), planned("mar", "v3")]);
        assert.deepEqual(plan.keep, ["v4", "v3", "v2"]);
        assert.deepEqual(
            plan.history.map((h) => h.version),
            ["v4", "v3", "v2", "v1"],
        );
        assert.equal(plan.recordedSteps, undefined, "the steps run");
        assert.equal(plan.storeSubdir, "ml-prod/torchserve");
    });

    it("switches to an archived version, with its fingerprint when the history knows it", () => {
        const plan = planRelease(release(["v3", "v2", "v1"]), { kind: "switch", version: "v1" }, limits);
        assert.deepEqual(plan.served, [planned("mar", "v1")]);
        assert.deepEqual(plan.keep, ["v1", "v3", "v2"]);
        const unknown = planRelease(release(["v3"]), { kind: "switch", version: "v0" }, limits);
        assert.deepEqual(unknown.served, [planned("mar", "v0", "", 0)], "unknown to the history: a .mar");
        const seen = planRelease(release(["v3"]), { kind: "switch", version: "v0", entry: "dir" }, limits);
        assert.deepEqual(seen.served, [planned("dir", "v0", "", 0)], "unless the store holds it as a directory");
    });

    it("refuses a known version with other files (a version names one set of bytes)", () => {
        assert.throws(
            () =>
                planRelease(
                    release(["v3", "v2"]),
                    { kind: "new", version: "v2", fingerprint: "fp-other", bytes: 1, entry: "dir" },
                    limits,
                ),
            /modelVersion = "v2": already names other model files \(deployed with fingerprint fp-v2, these files are fp-other\)/,
        );
        const same = planRelease(
            release(["v3", "v2"]),
            { kind: "new", version: "v2", fingerprint: "fp-v2", bytes: 100, entry: "dir" },
            limits,
        );
        assert.equal(same.version, "v2", "the same files again are fine (a retried deploy, a rollback with files)");
    });

    it("starts a new history for a first deploy or a renamed model, and caps it", () => {
        const first = planRelease(
            undefined,
            { kind: "new", version: "a", fingerprint: "f", bytes: 1, entry: "dir" },
            limits,
        );
        assert.deepEqual(first.history, [planned("dir", "a", "f", 1)]);
        const renamed = planRelease(
            release(["v2", "v1"]),
            { kind: "new", version: "a", fingerprint: "f", bytes: 1, entry: "dir" },
            { ...limits, modelName: "other" },
        );
        assert.deepEqual(
            renamed.history.map((h) => h.version),
            ["a"],
        );
        const long = release(Array.from({ length: HISTORY_LIMIT + 5 }, (_, i) => `v${HISTORY_LIMIT + 5 - i}`));
        const next = planRelease(
            long,
            { kind: "new", version: "new", fingerprint: "f", bytes: 1, entry: "dir" },
            limits,
        );
        assert.equal(next.history.length, HISTORY_LIMIT);
    });
});

describe("entry kinds in the release", () => {
    it("reads a release recorded before directories (schema 1, no kinds): every version a .mar", () => {
        const old = JSON.parse(JSON.stringify(release(["v2", "v1"], ["v2", "v1"])));
        const parsed = parseRelease(old)!;
        assert.deepEqual(parsed, old, "read as it is");
        assert.deepEqual(parsed.history.map(entryKindOf), ["mar", "mar"]);
    });

    it("a run that keeps the release keeps it exactly as recorded, schema and kind-less entries included", () => {
        const old = release(["v2", "v1"], ["v2", "v1"]);
        const plan = planRelease(old, { kind: "keep" }, { ...limits, servedVersions: 2 });
        assert.equal(plan.schema, 1);
        assert.deepEqual(plan.history, old.history);
        assert.deepEqual(plan.served, old.history);
    });

    it("a new version gets the request's kind; known versions keep theirs; a mixed release is schema 2", () => {
        const plan = planRelease(
            release(["v2", "v1"]),
            { kind: "new", version: "v3", fingerprint: "fp-v3", bytes: 5, entry: "dir" },
            { ...limits, servedVersions: 2 },
        );
        assert.deepEqual(plan.served, [planned("dir", "v3", "fp-v3", 5), planned("mar", "v2")]);
        assert.equal(plan.schema, RELEASE_SCHEMA);
        assert.equal(RELEASE_SCHEMA, 2);
        const allMar = planRelease(
            release(["v2", "v1"]),
            { kind: "new", version: "v3", fingerprint: "fp-v3", bytes: 5, entry: "mar" },
            limits,
        );
        assert.equal(allMar.schema, 1, "no directory: still readable by the programs before directories");
        // Switching back to a recorded .mar, or redeploying its files, keeps it a .mar whatever the request says.
        const recorded: Release = { ...release(["v3"]), schema: plan.schema, history: plan.history };
        const back = planRelease(recorded, { kind: "switch", version: "v2", entry: "dir" }, limits);
        assert.deepEqual(back.served, [planned("mar", "v2")]);
        const again = planRelease(
            release(["v2", "v1"]),
            { kind: "new", version: "v1", fingerprint: "fp-v1", bytes: 100, entry: "dir" },
            limits,
        );
        assert.deepEqual(again.served, [planned("mar", "v1")]);
    });

    it("accepts a known version's files archived in another format (the same bytes), with its recorded fingerprint", () => {
        const plan = planRelease(
            release(["v2", "v1"]),
            {
                kind: "new",
                version: "v2",
                fingerprint: "fp-v2-as-directory",
                bytes: 100,
                entry: "dir",
                sameFiles: ["fp-v2", "fp-v2-as-deflate"],
            },
            limits,
        );
        assert.deepEqual(plan.served, [planned("mar", "v2")]);
        assert.throws(
            () =>
                planRelease(
                    release(["v2", "v1"]),
                    { kind: "new", version: "v2", fingerprint: "fp-x", bytes: 1, entry: "dir", sameFiles: ["fp-y"] },
                    limits,
                ),
            /already names other model files/,
        );
    });

    it("records every version's kind in a release it writes, and reads it back", () => {
        const plan = planRelease(
            release(["v2", "v1"]),
            { kind: "new", version: "v3", fingerprint: "fp-v3", bytes: 5, entry: "dir" },
            limits,
        );
        const recorded = { ...release(["v3"]), schema: plan.schema, history: plan.history };
        assert.deepEqual(recorded.history.map(entryKindOf), ["dir", "mar", "mar"]);
        assert.deepEqual(parseRelease(JSON.parse(JSON.stringify(recorded))), recorded);
    });
});

describe("reading a recorded release", () => {
    it("reads what the program records, and nothing when a stack has none", () => {
        const r = release(["v2", "v1"]);
        assert.deepEqual(parseRelease(JSON.parse(JSON.stringify(r))), r);
        assert.equal(parseRelease(undefined), undefined);
    });

    it("refuses a record it cannot read instead of guessing (a guess could roll back)", () => {
        assert.throws(() => parseRelease({ ...release(["v1"]), schema: 99 }), /schema 99, expected 1 or 2/);
        const badKind = { ...release(["v1"]), history: [{ ...deployed("v1"), entry: "zip" }] };
        assert.throws(() => parseRelease(badKind), /not one this program can read/);
        assert.throws(() => parseRelease({ ...release(["v1"]), served: "v1" }), /not one this program can read/);
    });
});
