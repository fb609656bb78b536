/**
 * Every version string validation accepts names entries the store lists back
 * as exactly that version, of both kinds, next to every other accepted
 * version: a property test over a generated set of versions (edge
 * characters, dots, dashes, underscores, the maximum length, file-like
 * endings), filtered through the real `modelVersion` validation, stored with
 * the real naming functions in a temp store, then listed, parsed, planned and
 * rotated. An accepted version that does not come back is a deploy whose
 * rotation fails after its rollout succeeded (issue 19, point 3).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it, mock } from "node:test";
import { ConfigValidationError, ProblemList, resolveModel } from "../../../components/config";
import {
    BACKUP_DIR,
    EntryKind,
    MANIFEST_PATH,
    entryName,
    listArchiveVersions,
    listEntries,
    parseEntryName,
    planRotation,
    storeLayout,
    versionFromFingerprint,
} from "../../../components/store";
import { rotateStore } from "../../../components/cli/rotate";
import { tempDir } from "../../support/tempDir";

const KINDS: readonly EntryKind[] = ["mar", "dir"];
/** Model names at the edges of what validation accepts (the longest is 64 characters). */
const MODELS = ["demo", "d", "res-net_50", `m${"x".repeat(63)}`];
const owner = { stack: "organization/torchserve-stack/prod", namespace: "ml-prod", appName: "torchserve" };

/** True when validation takes `version` as a `modelVersion` (the model's other keys are valid). */
function accepted(version: string): boolean {
    const problems = new ProblemList();
    resolveModel(
        { namespace: "ml-prod", modelName: "demo", modelVersion: version, modelStorePath: "/mnt/model-store" },
        { isFile: () => true },
        problems,
        "ml-prod/torchserve",
    );
    try {
        problems.throwIfAny();
        return true;
    } catch (error) {
        assert.ok(error instanceof ConfigValidationError);
        return !error.problems.some((p) => p.key === "modelVersion");
    }
}

/** A small seeded generator (mulberry32), so a failure names a version that fails again. */
function random(seed: number): () => number {
    let state = seed;
    return () => {
        state = (state + 0x6d2b79f5) | 0;
        let t = Math.imul(state ^ (state >>> 15), 1 | state);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Candidate versions: hand-picked edges, and random strings with file-like endings; validation filters them. */
function candidates(): string[] {
    const edges = [
        "v1",
        "1",
        "a",
        "Z",
        "0".repeat(63),
        `a${"-._".repeat(20)}b9`,
        "1.2.3",
        "v1.1",
        "v1.10",
        "2026-11-24.1",
        "26_11_24_1200",
        "a..b",
        "a-.-b",
        "a_.mar_b",
        "mar",
        "v2.mar",
        "v2.MAR",
        "v2.Mar",
        "v2.mar.mar",
        "x.mar1",
        "x.mar.1",
        "x-mar",
        "x_mar",
        "x.marx",
        "v1.json",
        "v1.tmp",
        "v1.staging",
        "v1.linking-1",
        "backup",
        "demo",
        "demo.v1",
        versionFromFingerprint("3f2a9c1b7d0e5a4f3f2a9c1b7d0e5a4f"),
    ];
    const next = random(19);
    const alphabet = "abcXYZ019-_.";
    const endings = ["", "", ".mar", ".MAR", ".1", ".01", "-1", "_1", ".mar.1", ".json", ".mar-x"];
    const generated: string[] = [];
    for (let i = 0; i < 400; i++) {
        const length = 1 + Math.floor(next() * 66);
        let version = "";
        for (let j = 0; j < length; j++) {
            version += alphabet[Math.floor(next() * alphabet.length)];
        }
        generated.push(version + endings[Math.floor(next() * endings.length)]);
    }
    return [...new Set([...edges, ...generated])];
}

function writeEntry(dir: string, model: string, version: string, kind: EntryKind): void {
    const entry = path.join(dir, entryName(model, version, kind));
    if (kind === "mar") {
        fs.writeFileSync(entry, `${model} ${version}`);
    } else {
        fs.mkdirSync(path.join(entry, path.dirname(MANIFEST_PATH)), { recursive: true });
        fs.writeFileSync(path.join(entry, MANIFEST_PATH), JSON.stringify({ model: { modelVersion: version } }));
    }
}

function sorted(versions: Iterable<string>): string[] {
    return [...versions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("every accepted modelVersion round-trips through the store", () => {
    const versions = candidates().filter(accepted);

    it("accepts every class of version the generator aims at (the property below is not vacuous)", () => {
        const lengths = new Set(versions.map((v) => v.length));
        assert.ok(lengths.has(1) && lengths.has(63), "the shortest and the longest");
        for (const pattern of [/\./, /-/, /_/, /\.[-_]/, /\.1$/, /\.mar./i, /^[0-9]/, /[A-Z]/]) {
            assert.ok(
                versions.some((v) => pattern.test(v)),
                `an accepted version matching ${pattern}`,
            );
        }
        assert.ok(versions.length > 150, `${versions.length} accepted versions`);
    });

    it("names entries TorchServe 0.12 loads: no '..' in any name (it refuses those as relative paths)", () => {
        for (const version of versions) {
            for (const kind of KINDS) {
                assert.ok(!entryName("demo", version, kind).includes(".."), `${kind} entry of ${version}`);
            }
        }
    });

    it("parses each entry name of each kind back to its model and version", () => {
        for (const model of MODELS) {
            for (const version of versions) {
                for (const kind of KINDS) {
                    const name = entryName(model, version, kind);
                    assert.deepEqual(parseEntryName(name, kind), { model, version }, `${kind} ${name}`);
                    const other = kind === "mar" ? "dir" : "mar";
                    const misread = parseEntryName(name, other);
                    assert.ok(
                        misread === undefined || misread.model !== model || !versions.includes(misread.version),
                        `${name} also reads as version ${misread?.version}'s ${other} entry`,
                    );
                }
            }
        }
    });

    it("lists exactly those entries back from one part holding every version of both kinds and several models", () => {
        const part = tempDir("tsstack-roundtrip-");
        for (const model of MODELS) {
            for (const version of versions) {
                KINDS.forEach((kind) => writeEntry(part, model, version, kind));
            }
        }
        for (const model of MODELS) {
            const expected = versions.flatMap((version) =>
                KINDS.map((kind) => ({ version, kind, name: entryName(model, version, kind) })),
            );
            const key = (e: { version: string; kind: string }) => `${e.version} ${e.kind}`;
            assert.deepEqual(
                sorted(listEntries(part, model).map(key)),
                sorted(expected.map(key)),
                `the entries of ${model}`,
            );
            assert.deepEqual(
                listEntries(part, model)
                    .map((e) => e.name)
                    .sort(),
                expected.map((e) => e.name).sort(),
            );
            assert.deepEqual(sorted(listArchiveVersions(part, model)), sorted(versions));
        }
    });

    it("plans and rotates each version: kept ones stay with both entries, every other entry moves to backup", async () => {
        const store = tempDir("tsstack-roundtrip-rotate-");
        const layout = storeLayout(store, "ml-prod/torchserve");
        fs.mkdirSync(layout.part, { recursive: true });
        for (const version of versions) {
            KINDS.forEach((kind) => writeEntry(layout.part, "demo", version, kind));
        }
        const present = listArchiveVersions(layout.part, "demo");
        for (const version of versions) {
            const plan = planRotation(present, [version]);
            assert.deepEqual(plan.moveToBackup, sorted(versions.filter((v) => v !== version)), version);
        }
        // The deployed version first, then others: the last, a dotted one and one with a file-like ending.
        const keep = [versions[versions.length - 1], ...versions.filter((v) => /\.(1|mar.)$/i.test(v)).slice(0, 3)];
        const quiet = mock.method(console, "log", () => undefined);
        const plan = await rotateStore({ store, subdir: "ml-prod/torchserve", owner, model: "demo", keep }).finally(
            () => quiet.mock.restore(),
        );
        assert.deepEqual(sorted(plan.keep), sorted(keep));
        assert.deepEqual(
            sorted(listEntries(layout.part, "demo").map((e) => e.name)),
            sorted(keep.flatMap((v) => KINDS.map((kind) => entryName("demo", v, kind)))),
        );
        assert.deepEqual(
            sorted(fs.readdirSync(path.join(layout.part, BACKUP_DIR))),
            sorted(versions.filter((v) => !keep.includes(v)).flatMap((v) => KINDS.map((k) => entryName("demo", v, k)))),
            "every other entry under its own name, nothing lost",
        );
    });
});
