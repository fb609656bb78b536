/**
 * Parts of the store inside or around another stack's part, on real
 * directories with real owner records: refused with `modelStoreSubdir`, the
 * other stack and the fix, before this stack writes anything (issue 19,
 * point 5).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it, mock } from "node:test";
import {
    ancestorSubdirs,
    claimOwnership,
    partConflicts,
    refusePartConflicts,
    storeLayout,
    storePartProblems,
} from "../../../components/store";
import { tempDir } from "../../support/tempDir";

const prod = { stack: "organization/torchserve-stack/prod", namespace: "prod", appName: "torchserve" };
const backupStack = { stack: "organization/torchserve-stack/backup", namespace: "prod", appName: "backup" };

/** A store where `owners` already own their parts (as their archive steps recorded them). */
function storeWith(owners: [string, typeof prod][]): string {
    const root = tempDir("tsstack-parts-");
    for (const [subdir, owner] of owners) {
        claimOwnership(storeLayout(root, subdir), owner);
    }
    return root;
}

/** Everything under `dir`, relative, sorted: what a refused claim must leave as it was. */
function tree(dir: string): string[] {
    return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("parts of the store around and inside other stacks' parts", () => {
    it("names the parts a part lies inside", () => {
        assert.deepEqual(ancestorSubdirs("a/b/c"), ["a", "a/b"]);
        assert.deepEqual(ancestorSubdirs("a"), []);
    });

    it("refuses a part inside another stack's (its backup/ too), naming modelStoreSubdir, the owner and the fix, writing nothing", () => {
        const root = storeWith([["prod/torchserve", prod]]);
        fs.mkdirSync(path.join(root, "prod/torchserve/backup"));
        const before = tree(root);
        for (const subdir of ["prod/torchserve/backup", "prod/torchserve/backup/deeper/still"]) {
            assert.throws(
                () => claimOwnership(storeLayout(root, subdir), backupStack),
                new RegExp(
                    `modelStoreSubdir ${subdir} lies inside prod/torchserve, the part of the model store that ` +
                        "belongs to stack organization/torchserve-stack/prod \\(namespace prod, app torchserve\\).*" +
                        "Fix: give this stack a part of its own.*pulumi config set modelStoreSubdir <namespace>/<appName>",
                ),
            );
            assert.deepEqual(tree(root), before, "no owner record, no directory for the refused part");
            const [problem] = storePartProblems(root, subdir, backupStack);
            assert.equal(problem.key, "modelStoreSubdir");
            assert.equal(problem.value, subdir);
            assert.match(problem.problem, /lies inside prod\/torchserve.*organization\/torchserve-stack\/prod/);
            assert.equal(
                problem.fix,
                "give this stack a part of its own, neither inside nor around another stack's: pulumi config set " +
                    "modelStoreSubdir <namespace>/<appName> (a directory beside prod/torchserve, not in it nor above it)",
            );
            assert.match(
                problem.problem,
                /two stacks must not share a part, nor hold one inside the other \(the pods would load the other's entries, and each stack's rotation would move the other's\)$/,
            );
        }
    });

    it("refuses a part around another stack's, however deep that one lies", () => {
        const root = storeWith([["prod/torchserve/a/b/backup", backupStack]]);
        const before = tree(root);
        for (const subdir of ["prod", "prod/torchserve", "prod/torchserve/a/b"]) {
            assert.throws(
                () => refusePartConflicts(storeLayout(root, subdir), prod),
                new RegExp(
                    `modelStoreSubdir ${subdir} contains prod/torchserve/a/b/backup, the part .* stack ` +
                        "organization/torchserve-stack/backup",
                ),
            );
            assert.throws(
                () => claimOwnership(storeLayout(root, subdir), prod),
                /contains prod\/torchserve\/a\/b\/backup/,
            );
            assert.deepEqual(
                partConflicts(root, subdir, prod).map((c) => [c.relation, c.subdir, c.owner.stack]),
                [["contains", "prod/torchserve/a/b/backup", backupStack.stack]],
            );
        }
        assert.deepEqual(tree(root), before);
    });

    it("checks again once its record is written: of two stacks claiming nested parts at once, the second to look refuses and removes its record", () => {
        const root = tempDir("tsstack-parts-race-");
        const inner = storeLayout(root, "prod/torchserve/backup");
        // The other stack records the outer part right after this one recorded the inner part.
        // The module itself (the import is a copy of its bindings): what the step's own import reads through.
        const nodeFs = process.getBuiltinModule("node:fs");
        const rename = nodeFs.renameSync;
        const racing = mock.method(nodeFs, "renameSync", (from: fs.PathLike, to: fs.PathLike) => {
            rename(from, to);
            if (to === inner.ownerFile) {
                racing.mock.restore();
                const outer = storeLayout(root, "prod/torchserve");
                fs.mkdirSync(outer.stateDir, { recursive: true });
                fs.writeFileSync(outer.ownerFile, JSON.stringify(prod));
            }
        });
        try {
            assert.throws(() => claimOwnership(inner, backupStack), /lies inside prod\/torchserve/);
        } finally {
            racing.mock.restore();
        }
        assert.equal(fs.existsSync(inner.ownerFile), false, "the refused stack's record is gone");
    });

    it("reads through a file where a part's directory would be, and refuses an unreadable owner record", () => {
        const root = tempDir("tsstack-parts-odd-");
        fs.writeFileSync(path.join(root, "prod"), "a file, not a directory");
        assert.deepEqual(storePartProblems(root, "prod/torchserve", prod), []);
        const layout = storeLayout(root, "team/torchserve");
        fs.mkdirSync(layout.stateDir, { recursive: true });
        fs.writeFileSync(layout.ownerFile, "{ not json");
        assert.throws(() => partConflicts(root, "team/torchserve/x", prod), /cannot read .*owner\.json: .*JSON/);
        fs.rmSync(layout.ownerFile);
        fs.mkdirSync(layout.ownerFile);
        assert.throws(() => partConflicts(root, "team", prod), /cannot read .*owner\.json: EISDIR/);
    });

    it("refuses the same part at preview as in the steps", () => {
        const root = storeWith([["prod/torchserve", prod]]);
        const [problem] = storePartProblems(root, "prod/torchserve", backupStack);
        assert.match(
            problem.problem,
            /^is the part of the model store that belongs to stack organization\/torchserve-stack\/prod/,
        );
        assert.throws(() => claimOwnership(storeLayout(root, "prod/torchserve"), backupStack), /belongs to stack/);
    });

    it("allows siblings whose names share a prefix, a stack's own earlier parts, and a store it cannot see", () => {
        const root = storeWith([
            ["prod/torchserve", prod],
            ["prod/torchserve-2", backupStack],
        ]);
        assert.deepEqual(partConflicts(root, "prod/torchserve", prod), []);
        assert.deepEqual(partConflicts(root, "prod/torchserve-2/x", backupStack), []);
        // A stack that moved its part (here: inside its old one) does not conflict with itself.
        claimOwnership(storeLayout(root, "prod/torchserve/v2"), prod);
        claimOwnership(storeLayout(root, "prod/torchserve-3"), { ...prod, stack: "organization/torchserve-stack/new" });
        assert.deepEqual(storePartProblems(path.join(root, "missing"), "prod/torchserve/x", backupStack), []);
        assert.deepEqual(storePartProblems(undefined, "prod/torchserve/x", backupStack), []);
    });

    it("does not search model directories, hidden directories or links for parts", () => {
        const root = storeWith([["elsewhere/part", backupStack]]);
        const part = path.join(root, "prod/torchserve");
        fs.mkdirSync(path.join(part, "demo.v1/MAR-INF"), { recursive: true });
        fs.writeFileSync(path.join(part, "demo.v1/MAR-INF/MANIFEST.json"), "{}");
        // Owner records where no part can be: inside a version's directory, behind a link.
        claimOwnership(storeLayout(root, "prod/torchserve/demo.v1/inner"), backupStack);
        fs.symlinkSync(path.join(root, "elsewhere"), path.join(part, "linked"));
        // Names no modelStoreSubdir segment has: hidden, upper case, or deeper than 200 characters in all.
        for (const where of [".snapshot/part", "Upper/part", `${"d".repeat(100)}/${"e".repeat(100)}`]) {
            const layout = storeLayout(part, where);
            fs.mkdirSync(layout.stateDir, { recursive: true });
            fs.writeFileSync(layout.ownerFile, JSON.stringify(backupStack));
        }
        assert.deepEqual(partConflicts(root, "prod/torchserve", prod), []);
        // Within 200 characters it is a part.
        claimOwnership(storeLayout(root, `prod/torchserve/${"f".repeat(150)}`), backupStack);
        assert.deepEqual(
            partConflicts(root, "prod/torchserve", prod).map((c) => c.relation),
            ["contains"],
        );
    });
});
