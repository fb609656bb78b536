import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HISTORY_LIMIT, Release, RELEASE_SCHEMA, parseRelease, planRelease } from "../../../components/store";
import { ConfigValidationError } from "../../../components/config";

const limits = {
    modelName: "demo",
    archiveKeep: 3,
    servedVersions: 1,
    storeSubdir: "ml-prod/torchserve",
    stack: "prod",
};
const deployed = (version: string, fingerprint = `fp-${version}`, bytes = 100) => ({ version, fingerprint, bytes });
const steps = {
    archive: { create: "node archive.js v3", triggers: ["v3"] },
    rotate: { create: "node rotate.js", triggers: ["v3"] },
};

function release(history: string[], served = history.slice(0, 1), over: Partial<Release> = {}): Release {
    return {
        schema: RELEASE_SCHEMA,
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
            { kind: "new", version: "v4", fingerprint: "fp-v4", bytes: 7 },
            { ...limits, servedVersions: 2 },
        );
        assert.deepEqual(plan.served, [deployed("v4", "fp-v4", 7), deployed("v3")]);
        assert.deepEqual(plan.keep, ["v4", "v3", "v2"]);
        assert.deepEqual(
            plan.history.map((h) => h.version),
            ["v4", "v3", "v2", "v1"],
        );
        assert.equal(plan.recordedSteps, undefined, "the steps run");
        assert.equal(plan.storeSubdir, "ml-prod/torchserve");
    });

    it("never serves or keeps a version that failed: it is not in the history", () => {
        // v4 was archived but never rolled out: the recorded release is still v3's.
        const afterFailure = release(["v3", "v2", "v1"]);
        const rollback = planRelease(afterFailure, { kind: "switch", version: "v2" }, { ...limits, servedVersions: 3 });
        assert.deepEqual(
            rollback.served.map((s) => s.version),
            ["v2", "v3", "v1"],
        );
        const fixForward = planRelease(
            afterFailure,
            { kind: "new", version: "v5", fingerprint: "fp-v5", bytes: 1 },
            { ...limits, servedVersions: 3 },
        );
        assert.deepEqual(
            fixForward.served.map((s) => s.version),
            ["v5", "v3", "v2"],
        );
        for (const plan of [rollback, fixForward]) {
            assert.ok(!plan.keep.includes("v4") && !plan.served.some((s) => s.version === "v4"));
        }
    });

    it("switches to an archived version, with its fingerprint when the history knows it", () => {
        const plan = planRelease(release(["v3", "v2", "v1"]), { kind: "switch", version: "v1" }, limits);
        assert.deepEqual(plan.served, [deployed("v1")]);
        assert.deepEqual(plan.keep, ["v1", "v3", "v2"]);
        const unknown = planRelease(release(["v3"]), { kind: "switch", version: "v0" }, limits);
        assert.deepEqual(unknown.served, [{ version: "v0", fingerprint: "", bytes: 0 }]);
    });

    it("refuses a known version with other files (a version names one set of bytes)", () => {
        assert.throws(
            () =>
                planRelease(
                    release(["v3", "v2"]),
                    { kind: "new", version: "v2", fingerprint: "fp-other", bytes: 1 },
                    limits,
                ),
            /modelVersion = "v2": already names other model files \(deployed with fingerprint fp-v2, these files are fp-other\)/,
        );
        const same = planRelease(
            release(["v3", "v2"]),
            { kind: "new", version: "v2", fingerprint: "fp-v2", bytes: 100 },
            limits,
        );
        assert.equal(same.version, "v2", "the same files again are fine (a retried deploy, a rollback with files)");
    });

    it("starts a new history for a first deploy or a renamed model, and caps it", () => {
        const first = planRelease(undefined, { kind: "new", version: "a", fingerprint: "f", bytes: 1 }, limits);
        assert.deepEqual(first.history, [deployed("a", "f", 1)]);
        const renamed = planRelease(
            release(["v2", "v1"]),
            { kind: "new", version: "a", fingerprint: "f", bytes: 1 },
            { ...limits, modelName: "other" },
        );
        assert.deepEqual(
            renamed.history.map((h) => h.version),
            ["a"],
        );
        const long = release(Array.from({ length: HISTORY_LIMIT + 5 }, (_, i) => `v${HISTORY_LIMIT + 5 - i}`));
        const next = planRelease(long, { kind: "new", version: "new", fingerprint: "f", bytes: 1 }, limits);
        assert.equal(next.history.length, HISTORY_LIMIT);
    });
});

describe("reading a recorded release", () => {
    it("reads what the program records, and nothing when a stack has none", () => {
        const r = release(["v2", "v1"]);
        assert.deepEqual(parseRelease(JSON.parse(JSON.stringify(r))), r);
        assert.equal(parseRelease(undefined), undefined);
    });

    it("refuses a record it cannot read instead of guessing (a guess could roll back)", () => {
        assert.throws(() => parseRelease({ ...release(["v1"]), schema: 99 }), /schema 99, expected 1/);
        assert.throws(() => parseRelease({ ...release(["v1"]), served: "v1" }), /not one this program can read/);
    });
});
