import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { findProjectDir, rebase, rebaseModelPaths, resolveFromProject } from "../../../components/store";
import { ModelSettings } from "../../../components/config";
import { tempDir } from "../../support/tempDir";

const artifacts = {
    serializedFile: ".dev/model/model.pt",
    handler: "handlers/handler.py",
    extraFiles: ["labels.json", "/abs/index.json"],
    requirementsFile: "requirements.txt",
};
const model: ModelSettings = {
    name: "demo",
    explicitVersion: undefined,
    artifacts,
    archiveFormat: "zip-store",
    keep: 3,
    served: 1,
    archiverCommand: "torch-model-archiver",
    storePath: "/mnt/model-store",
    storeSubdir: "ml-prod/torchserve",
};

describe("project paths", () => {
    it("finds the directory holding Pulumi.yaml from the program directory below it", () => {
        const root = tempDir("project-");
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: x\n");
        fs.mkdirSync(path.join(root, "bin", "components"), { recursive: true });
        assert.equal(findProjectDir(path.join(root, "bin")), root);
        assert.equal(findProjectDir(path.join(root, "bin", "components")), root);
        assert.equal(findProjectDir(root), root);
    });

    it("falls back to the start directory when no Pulumi.yaml is above it", () => {
        assert.equal(
            findProjectDir("/a/b", () => false),
            "/a/b",
        );
    });

    it("resolves a user's relative path from the project directory, and keeps an absolute one", () => {
        assert.equal(resolveFromProject("/work/project", "model/handler.py"), "/work/project/model/handler.py");
        assert.equal(resolveFromProject("/work/project", "/data/model.pt"), "/data/model.pt");
    });

    it("rebases relative paths from the project directory onto the working directory, and keeps absolute ones", () => {
        assert.equal(rebase(".dev/model/model.pt", "/repo", "/repo/bin"), "../.dev/model/model.pt");
        assert.equal(rebase("model.pt", "/repo", "/repo"), "model.pt");
        assert.equal(rebase("/runs/7/model.pt", "/repo", "/repo/bin"), "/runs/7/model.pt");
        assert.equal(rebase("bin", "/repo", "/repo/bin"), ".");
    });

    it("gives the same rebased paths wherever the project is checked out (no spurious diff)", () => {
        const a = rebaseModelPaths(model, "/builds/1/repo", "/builds/1/repo/bin");
        const b = rebaseModelPaths(model, "/home/ci/other/repo", "/home/ci/other/repo/bin");
        assert.deepEqual(a, b);
    });

    it("rebases every file of the model and the store, but not a built-in handler name", () => {
        const moved = rebaseModelPaths(model, "/repo", "/repo/bin");
        assert.deepEqual(moved.artifacts, {
            serializedFile: "../.dev/model/model.pt",
            handler: "../handlers/handler.py",
            extraFiles: ["../labels.json", "/abs/index.json"],
            requirementsFile: "../requirements.txt",
        });
        assert.equal(moved.storePath, "/mnt/model-store");
        assert.equal(moved.storeSubdir, "ml-prod/torchserve", "a path inside the store, not on this machine");
        const builtIn = { ...model, artifacts: { ...artifacts, handler: "image_classifier" } };
        assert.equal(rebaseModelPaths(builtIn, "/repo", "/repo/bin").artifacts!.handler, "image_classifier");
        const keepRun = rebaseModelPaths(
            { ...model, artifacts: undefined, storePath: undefined },
            "/repo",
            "/repo/bin",
        );
        assert.equal(keepRun.artifacts, undefined);
        assert.equal(keepRun.storePath, undefined);
        assert.equal(moved.archiverCommand, "torch-model-archiver", "a bare command is looked up on PATH");
        assert.equal(
            rebaseModelPaths({ ...model, archiverCommand: ".venv/bin/torch-model-archiver" }, "/repo", "/repo/bin")
                .archiverCommand,
            "../.venv/bin/torch-model-archiver",
        );
        const noRequirements = { ...model, artifacts: { ...artifacts, requirementsFile: undefined } };
        assert.equal(rebaseModelPaths(noRequirements, "/repo", "/repo/bin").artifacts!.requirementsFile, undefined);
    });
});
