import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
    CONFIG_KEYS,
    ConfigValidationError,
    DEFAULTS,
    parseStackConfig,
    resolveSettings,
} from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

const projectDir = path.resolve(__dirname, "..", "..", "..", "..");
const project = parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config: Record<string, { type: string; default?: unknown; description: string }>;
};
const fixture = makeModelDir();
const required: Record<string, string> = {
    "torchserve-stack:modelName": "demo",
    "torchserve-stack:serializedFile": fixture.args.serializedFile!,
    "torchserve-stack:handler": fixture.args.handler!,
    "torchserve-stack:modelStorePath": fixture.store,
};

/** Pulumi hands project defaults to the program as strings (arrays as JSON). */
function declaredDefaults(): Record<string, string> {
    const raw: Record<string, string> = {};
    for (const [key, declaration] of Object.entries(project.config)) {
        if (declaration.default !== undefined) {
            raw[`${project.name}:${key}`] =
                typeof declaration.default === "string" ? declaration.default : JSON.stringify(declaration.default);
        }
    }
    return raw;
}

describe("stack config", () => {
    it("reads typed values and defaults the namespace to the stack name", () => {
        const args = parseStackConfig(
            {
                ...required,
                "torchserve-stack:archiveKeep": "5",
                "torchserve-stack:maxSurge": "25%",
                "torchserve-stack:exposeMetrics": "true",
                "torchserve-stack:extraFiles": '["a.json"]',
                "kubernetes:context": "ignored",
            },
            "torchserve-stack",
            "staging",
        );
        assert.equal(args.namespace, "staging");
        assert.equal(args.archiveKeep, 5);
        assert.equal(args.maxSurge, "25%");
        assert.equal(args.exposeMetrics, true);
        assert.deepEqual(args.extraFiles, ["a.json"]);
    });

    it("treats keys named like Object's members as unknown keys, not as crashes", () => {
        for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
            assert.throws(
                () => parseStackConfig({ ...required, [`torchserve-stack:${key}`]: "x" }, "torchserve-stack", "dev"),
                (e: Error) =>
                    e instanceof ConfigValidationError &&
                    e.message.includes(`${key} = "x": is not a torchserve-stack config key`),
                key,
            );
        }
    });

    it("treats the declared empty defaults as unset", () => {
        const args = parseStackConfig({ ...required, ...declaredDefaults() }, project.name, "dev");
        assert.equal(args.modelVersion, undefined);
        assert.equal(args.namespace, "dev");
        assert.equal(args.installPyDepPerModel, undefined);
    });

    it("declares every key in Pulumi.yaml with a type and a description (extraProperties excepted: no map type)", () => {
        const declared = Object.keys(project.config).sort();
        const known = Object.keys(CONFIG_KEYS)
            .filter((k) => k !== "extraProperties")
            .sort();
        assert.deepEqual(declared, known);
        for (const [key, declaration] of Object.entries(project.config)) {
            assert.ok(["string", "integer", "boolean", "array"].includes(declaration.type), key);
            assert.ok(declaration.description.length > 10, key);
        }
    });

    it("has Pulumi.yaml defaults that mean exactly the code's defaults", () => {
        const withDefaults = resolveSettings(
            parseStackConfig({ ...declaredDefaults(), ...required }, project.name, "dev"),
            realFiles,
        );
        const withoutDefaults = resolveSettings(parseStackConfig(required, project.name, "dev"), realFiles);
        assert.deepEqual(withDefaults, withoutDefaults);
    });

    it('declares in Pulumi.yaml, key by key, the default DEFAULTS holds ("" and auto: unset)', () => {
        for (const [key, declaration] of Object.entries(project.config)) {
            if (declaration.default === undefined) {
                continue;
            }
            const text =
                typeof declaration.default === "string" ? declaration.default : JSON.stringify(declaration.default);
            const parsed = parseStackConfig(
                { ...required, [`${project.name}:${key}`]: text },
                project.name,
                "dev",
            ) as unknown as Record<string, unknown>;
            const expected = key === "namespace" ? "dev" : (DEFAULTS as Record<string, unknown>)[key];
            assert.deepEqual(parsed[key], expected, key);
        }
        const declaredWithDefault = Object.keys(project.config).filter(
            (key) => project.config[key].default !== undefined,
        );
        assert.deepEqual(
            Object.keys(DEFAULTS).filter((key) => key !== "extraProperties" && !declaredWithDefault.includes(key)),
            [],
            "every default is declared",
        );
    });

    it("quotes DEFAULTS in README's configuration table", () => {
        const readme = fs.readFileSync(path.join(projectDir, "README.md"), "utf8");
        const shown = (value: unknown) =>
            Array.isArray(value)
                ? `[${value.join(", ")}]`
                : typeof value === "object"
                  ? JSON.stringify(value)
                  : String(value);
        const checked: string[] = [];
        for (const line of readme.split("\n").filter((l) => /^\| `[a-zA-Z]+`/.test(l))) {
            const [keys, defaults] = line
                .split("|")
                .slice(1, 3)
                .map((cell) =>
                    cell
                        .trim()
                        .split(" / ")
                        .map((part) => part.replace(/`/g, "")),
                );
            keys.forEach((key, i) => {
                if (key in DEFAULTS && defaults.length === keys.length) {
                    assert.equal(defaults[i], shown((DEFAULTS as Record<string, unknown>)[key]), key);
                    checked.push(key);
                }
            });
        }
        assert.deepEqual(checked.sort(), Object.keys(DEFAULTS).sort(), "every default appears in the table");
    });

    it("documents every config key in README.md", () => {
        const readme = fs.readFileSync(path.join(projectDir, "README.md"), "utf8");
        const missing = Object.keys(CONFIG_KEYS).filter((key) => !readme.includes(`\`${key}\``));
        assert.deepEqual(missing, []);
    });

    it("rejects unknown keys with a did-you-mean, and wrong types, by key", () => {
        try {
            parseStackConfig(
                {
                    ...required,
                    "torchserve-stack:archiveKep": "3",
                    "torchserve-stack:replicas": "two",
                    "torchserve-stack:tokenAuth": "yes",
                    "torchserve-stack:extraFiles": "a.json",
                },
                project.name,
                "dev",
            );
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

    it("reads booleans and maps from their config text", () => {
        const parsed = parseStackConfig(
            {
                ...required,
                "torchserve-stack:tokenAuth": "true",
                "torchserve-stack:createNamespace": "false",
                "torchserve-stack:extraProperties": JSON.stringify({ max_request_size: "10" }),
            },
            project.name,
            "dev",
        );
        assert.equal(parsed.tokenAuth, true);
        assert.equal(parsed.createNamespace, false);
        assert.deepEqual(parsed.extraProperties, { max_request_size: "10" });
        for (const notAMap of ["[1]", "null", '"x"']) {
            assert.throws(
                () =>
                    parseStackConfig({ ...required, "torchserve-stack:extraProperties": notAMap }, project.name, "dev"),
                (error: unknown) =>
                    error instanceof ConfigValidationError && error.problems.some((p) => p.key === "extraProperties"),
                notAMap,
            );
        }
    });
});
