import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigValidationError, parseStackConfig, resolveSettings } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

const projectDir = path.resolve(__dirname, "..", "..", "..", "..");
const project = parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config: Record<string, { type: string; default?: unknown; description: string }>;
};
const fixture = makeModelDir();
const required: Record<string, string> = {
    "torchserve-stack:modelName": "demo",
    "torchserve-stack:serializedFile": fixture.args.serializedFile,
    "torchserve-stack:handler": fixture.args.handler,
    "torchserve-stack:modelStorePath": fixture.store,
};

/** Pulumi hands project defaults to the program as strings (arrays as JSON). */
function declaredDefaults(): Record<string, string> {
    const raw: Record<string, string> = {};
    for (const [key, declaration] of Object.entries(project.config)) {
        if (declaration.default !== undefined) {
            raw[`${project.name}:${key}`] = typeof declaration.default === "string" ? declaration.default : JSON.stringify(declaration.default);
        }
    }
    return raw;
}

describe("stack config", () => {
    it("reads typed values and defaults the namespace to the stack name", () => {
        const args = parseStackConfig({ ...required, "torchserve-stack:archiveKeep": "5", "torchserve-stack:maxSurge": "25%", "torchserve-stack:exposeMetrics": "true", "torchserve-stack:extraFiles": "[\"a.json\"]", "kubernetes:context": "ignored" }, "torchserve-stack", "staging");
        assert.equal(args.namespace, "staging");
        assert.equal(args.archiveKeep, 5);
        assert.equal(args.maxSurge, "25%");
        assert.equal(args.exposeMetrics, true);
        assert.deepEqual(args.extraFiles, ["a.json"]);
    });

    it("treats the declared empty defaults as unset", () => {
        const args = parseStackConfig({ ...required, ...declaredDefaults() }, project.name, "dev");
        assert.equal(args.modelVersion, undefined);
        assert.equal(args.namespace, "dev");
        assert.equal(args.installPyDepPerModel, undefined);
    });

    it("declares every key in Pulumi.yaml with a type and a description (extraProperties excepted: no map type)", () => {
        const declared = Object.keys(project.config).sort();
        const known = Object.keys(CONFIG_KEYS).filter((k) => k !== "extraProperties").sort();
        assert.deepEqual(declared, known);
        for (const [key, declaration] of Object.entries(project.config)) {
            assert.ok(["string", "integer", "boolean", "array"].includes(declaration.type), key);
            assert.ok(declaration.description.length > 10, key);
        }
    });

    it("has Pulumi.yaml defaults that mean exactly the code's defaults", () => {
        const withDefaults = resolveSettings(parseStackConfig({ ...declaredDefaults(), ...required }, project.name, "dev"), realFiles);
        const withoutDefaults = resolveSettings(parseStackConfig(required, project.name, "dev"), realFiles);
        assert.deepEqual(withDefaults, withoutDefaults);
    });

    it("documents every config key in README.md", () => {
        const readme = fs.readFileSync(path.join(projectDir, "README.md"), "utf8");
        const missing = Object.keys(CONFIG_KEYS).filter((key) => !readme.includes(`\`${key}\``));
        assert.deepEqual(missing, []);
    });

    it("rejects unknown keys with a did-you-mean, and wrong types, by key", () => {
        try {
            parseStackConfig({ ...required, "torchserve-stack:archiveKep": "3", "torchserve-stack:replicas": "two", "torchserve-stack:tokenAuth": "yes", "torchserve-stack:extraFiles": "a.json" }, project.name, "dev");
            assert.fail("expected an error");
        } catch (error) {
            assert.ok(error instanceof ConfigValidationError);
            const byKey = Object.fromEntries(error.problems.map((p) => [p.key, p]));
            assert.match(byKey.archiveKep.problem, /did you mean archiveKeep/);
            assert.match(byKey.archiveKep.fix, /pulumi config set archiveKeep 3/);
            assert.match(byKey.replicas.problem, /whole number/);
            assert.match(byKey.tokenAuth.problem, /true or false/);
            assert.match(byKey.extraFiles.problem, /list of strings/);
        }
    });
});
