/**
 * extraProperties entries that undo the hardening: refused without
 * allowUnsafeExtraProperties, whatever their spelling. A key is refused when
 * TorchServe's loader (Java's Properties.load, run here for real) would read it
 * as another key than the one written, so no spelling of enable_envvars_config
 * gets past the check under another name.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { ConfigProblem, ProblemList, propertyKeyAsRead, validateExtraProperties } from "../../../components/config";
import { tempDir } from "../../support/tempDir";

const javaSource = path.join(__dirname, "..", "..", "..", "..", "test", "support", "java", "LoadProperties.java");

/** The keys the JVM's Properties.load reads from each text, one JVM for all. */
function keysReadByJava(texts: readonly string[]): string[][] {
    const dir = tempDir("props-keys-");
    const files = texts.map((text, i) => {
        const file = path.join(dir, `${i}.properties`);
        fs.writeFileSync(file, text);
        return file;
    });
    const lines = execFileSync("java", [javaSource, ...files], { encoding: "utf8" })
        .trim()
        .split("\n");
    return lines.map((line) => Object.keys(JSON.parse(line) as Record<string, string>));
}

/** The problems of these entries. */
function problemsOf(extra: Record<string, unknown>, allowUnsafe = false): ConfigProblem[] {
    const problems = new ProblemList();
    validateExtraProperties(extra as Record<string, string>, problems, allowUnsafe);
    try {
        problems.throwIfAny();
    } catch (error) {
        return (error as { problems: ConfigProblem[] }).problems;
    }
    return [];
}

/** Spellings of enable_envvars_config that TorchServe reads as that key. */
const spellings = [
    " enable_envvars_config",
    "\tenable_envvars_config",
    "\fenable_envvars_config",
    "enable\\_envvars_config",
    "\\u0065nable_envvars_config",
    "enable_envvars_config ",
    "enable_envvars_config:",
    "enable_envvars_config=true",
    "enable_envvars_config\ttrue",
    "enable_envvars_config\ftrue",
];

/** Lines whose keys this program must read as the JVM does. */
const lines = [
    "a\\tbeef=1",
    "abc\\",
    "a\\=b=1",
    "a\\:b:1",
    "a\\ b 1",
    "tab\\tkey=1",
    "\\\\x=1",
    "k\\u00e9y=1",
    "key",
    "  key  :  v",
];

/** What the JVM reads from the texts above (one JVM start for all: it takes seconds). */
let javaRead: { spellings: string[][]; others: string[][]; lines: string[][] };

before(() => {
    const others = ["x\nenable_envvars_config=true\n", "#enable_envvars_config=true\n"];
    const read = keysReadByJava([
        ...spellings.map((name) => `${name}=true\n`),
        ...others,
        ...lines.map((l) => `${l}\n`),
    ]);
    javaRead = {
        spellings: read.slice(0, spellings.length),
        others: read.slice(spellings.length, spellings.length + others.length),
        lines: read.slice(spellings.length + others.length),
    };
});

describe("extraProperties that undo the hardening", () => {
    it("refuses every spelling TorchServe reads as enable_envvars_config, even with allowUnsafeExtraProperties", () => {
        spellings.forEach((name, i) => {
            assert.deepEqual(
                javaRead.spellings[i],
                ["enable_envvars_config"],
                `the JVM reads ${JSON.stringify(name)} as the key`,
            );
            assert.equal(propertyKeyAsRead(`${name}=true`), "enable_envvars_config", "as this program reads it");
            for (const allowUnsafe of [false, true]) {
                const [problem, ...more] = problemsOf({ [name]: "true" }, allowUnsafe);
                assert.equal(more.length, 0);
                assert.equal(problem.key, `extraProperties.${name}`);
                assert.match(
                    problem.problem,
                    /blanks, ':', '=', '\\', '#', '!' and line breaks in a key change what it reads$/,
                );
                assert.match(
                    problem.problem,
                    /is read by TorchServe \(Java's Properties\.load\) as the key "enable_envvars_config"/,
                );
                assert.match(
                    problem.fix,
                    /^pulumi config rm --path '.*'; to set enable_envvars_config, name it exactly: pulumi config set --path 'extraProperties\.enable_envvars_config' VALUE$/s,
                );
            }
        });
    });

    it("refuses a key with a line break, a comment, or another case, which TorchServe reads otherwise or not at all", () => {
        const [broken, comment] = javaRead.others;
        assert.deepEqual(broken.sort(), ["enable_envvars_config", "x"], "a line break starts another entry");
        assert.deepEqual(comment, [], "a comment is no entry");
        assert.match(problemsOf({ "x\nenable_envvars_config": "true" }, true)[0].problem, /as the key "x"/);
        const blank = problemsOf({ "a\\ b": "1" }, true)[0];
        assert.match(blank.problem, /as the key "a b"/);
        assert.equal(
            blank.fix,
            "pulumi config rm --path 'extraProperties.a\\ b'",
            "no key to suggest: it is no plain key",
        );
        const commented = problemsOf({ "#enable_envvars_config": "true" }, true)[0];
        assert.match(commented.problem, /comment or a blank line/);
        assert.equal(commented.fix, "pulumi config rm --path 'extraProperties.#enable_envvars_config'");
        assert.equal(propertyKeyAsRead("  !x=1"), undefined);
        assert.equal(propertyKeyAsRead(" \t"), undefined);
        // Java's keys are case-sensitive: TorchServe does not read these, and they are no key it knows.
        for (const name of ["ENABLE_ENVVARS_CONFIG", "Enable_Envvars_Config"]) {
            assert.match(
                problemsOf({ [name]: "true" }, true)[0].problem,
                /not a TorchServe 0\.12 .*did you mean enable_envvars_config/,
            );
        }
    });

    it("reads keys as the JVM does: escapes, separators, and what ends a key", () => {
        lines.forEach((line, i) =>
            assert.deepEqual([propertyKeyAsRead(line)], javaRead.lines[i], JSON.stringify(line)),
        );
    });

    it("refuses use_env_allowed_urls unless false or allowed, like every key that undoes the hardening", () => {
        for (const value of ["true", "TRUE", "yes"]) {
            const [problem, ...more] = problemsOf({ use_env_allowed_urls: value });
            assert.equal(more.length, 0);
            assert.match(
                problem.problem,
                /takes allowed_urls from an environment variable.*undoes the stack's hardening/,
            );
            assert.deepEqual(problemsOf({ use_env_allowed_urls: value }, true), []);
        }
        assert.deepEqual(problemsOf({ use_env_allowed_urls: "false" }), []);
        assert.deepEqual(problemsOf({ use_env_allowed_urls: "FALSE" }), [], "Java's parseBoolean ignores case");
    });

    it("admits gRPC management on the loopback only: any other text is refused unless allowed", () => {
        for (const value of ["127.0.0.1:7071 extra", "127.0.0.1x", "127.0.0.10", "localhost.example.com", "0.0.0.0"]) {
            const [problem, ...more] = problemsOf({ grpc_management_address: value });
            assert.equal(more.length, 0, value);
            assert.match(problem.problem, /gRPC management API .* beyond the pod's loopback/, value);
            assert.deepEqual(problemsOf({ grpc_management_address: value }, true), [], value);
        }
        assert.deepEqual(problemsOf({ grpc_management_address: "127.0.0.1" }), []);
        assert.deepEqual(problemsOf({ grpc_management_address: "localhost" }), []);
    });
});
