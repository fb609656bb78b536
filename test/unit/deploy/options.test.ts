import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError, parseDeployArgs, stackFileName } from "../../../deploy/options";

const parse = (...argv: string[]) => parseDeployArgs(argv, "/runs/42", "/app");

describe("deploy command flags", () => {
    it("turns a pipeline's flags into this run's config, paths absolute from the caller's directory", () => {
        const options = parse(
            "--stack",
            "prod",
            "--serialized-file",
            "model.pt",
            "--handler",
            "src/handler.py",
            "--extra-file",
            "labels.json",
            "--extra-file",
            "/abs/index.bin",
            "--requirements-file",
            "req.txt",
            "--model-version",
            "run-42",
            "--model-store-path",
            "/mnt/store",
            "--archiver-command",
            "tools/archiver",
        );
        assert.equal(options.stack, "prod");
        assert.equal(options.projectDir, "/app");
        assert.equal(options.preview, false);
        assert.deepEqual(options.runConfig, {
            modelVersion: "run-42",
            serializedFile: "/runs/42/model.pt",
            handler: "/runs/42/src/handler.py",
            extraFiles: ["/runs/42/labels.json", "/abs/index.bin"],
            requirementsFile: "/runs/42/req.txt",
            modelStorePath: "/mnt/store",
            archiverCommand: "/runs/42/tools/archiver",
        });
    });

    it("keeps built-in handler names and bare archiver names as they are", () => {
        const options = parse(
            "--stack",
            "prod",
            "--serialized-file",
            "m.pt",
            "--handler",
            "image_classifier",
            "--archiver-command",
            "torch-model-archiver",
        );
        assert.equal(options.runConfig.handler, "image_classifier");
        assert.equal(options.runConfig.archiverCommand, "torch-model-archiver");
    });

    it("sets nothing it was not given (a version switch, a preview)", () => {
        const options = parse(
            "--stack",
            "prod",
            "--model-version",
            "v3",
            "--preview",
            "--summary-file",
            "out.json",
            "--project-dir",
            "../repo",
        );
        assert.deepEqual(options.runConfig, { modelVersion: "v3" });
        assert.equal(options.preview, true);
        assert.equal(options.summaryFile, "/runs/42/out.json");
        assert.equal(options.projectDir, "/runs/repo");
    });

    it("refuses a missing stack, unknown flags, empty values and model files without a model", () => {
        assert.throws(
            () => parse("--serialized-file", "m.pt"),
            (e: Error) => e instanceof UsageError && /--stack is required/.test(e.message),
        );
        assert.throws(
            () => parse("--stack", "prod", "--modle-version", "v1"),
            (e: Error) => e instanceof UsageError && /modle-version/.test(e.message) && /usage:/.test(e.message),
        );
        assert.throws(() => parse("--stack", "prod", "--model-version", " "), /--model-version needs a value/);
        assert.throws(
            () => parse("--stack", "prod", "--handler", "h.py"),
            /--handler belongs to a new model: give --serialized-file too/,
        );
        assert.throws(() => parse("--stack", "prod", "positional"), UsageError);
    });
});

describe("the --stack name", () => {
    it("takes organization-qualified names; the stack file is named after the stack's own name", () => {
        for (const stack of [
            "prod",
            "acme/prod",
            "organization/torchserve-stack/prod",
            "team_a.v2",
            ".prod",
            "prod.",
        ]) {
            assert.equal(parse("--stack", stack).stack, stack);
        }
        assert.equal(stackFileName("prod"), "Pulumi.prod.yaml");
        assert.equal(stackFileName("acme/prod"), "Pulumi.prod.yaml");
        assert.equal(stackFileName("acme/torchserve-stack/prod"), "Pulumi.prod.yaml");
    });

    it("refuses what is no stack name, saying the forms it takes", () => {
        for (const stack of ["a/b/c/d", "acme/", "/prod", "acme//prod", "../prod", "pr od", "acme/.."]) {
            assert.throws(
                () => parse("--stack", stack),
                (e: Error) =>
                    e instanceof UsageError &&
                    e.message.includes(`--stack ${JSON.stringify(stack)} is not a stack name`) &&
                    e.message.includes("NAME, ORG/NAME or ORG/PROJECT/NAME"),
                stack,
            );
        }
    });
});
