/**
 * No config error shows a value set as a secret, nor any copy of it: every
 * problem a secret key can have, through the program's path (parseStackConfig
 * then resolveSettings) and the component's (resolveSettings with secretKeys).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    ConfigValidationError,
    TorchServeStackArgs,
    hideSecretValue,
    parseStackConfig,
    resolveSettings,
} from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";
import { ESCAPED_SECRET, PLAIN_SECRET, assertNoSecret } from "../../support/secrets";

const fixture = makeModelDir();

/** The error a config raises; fails when it raises none. */
function errorOf(build: () => unknown): ConfigValidationError {
    try {
        build();
    } catch (error) {
        assert.ok(error instanceof ConfigValidationError, `expected ConfigValidationError, got ${error}`);
        return error;
    }
    assert.fail("expected the config to be rejected");
}

/** What a secret problem must not leak: the message, and the problems a caller could print or serialize. */
function assertHidden(error: ConfigValidationError, secret: string, problem: RegExp): void {
    assert.match(error.message, problem);
    assert.match(error.message, /= \[secret\]: /, "the value is shown as [secret]");
    assertNoSecret(error.message, secret, "the message");
    assertNoSecret(JSON.stringify(error.problems), secret, "the problems");
}

/** The program's path: stack config text, with these keys set as secrets. */
function fromStackConfig(config: Record<string, string>, secretKeys: string[]): ConfigValidationError {
    const raw = Object.fromEntries(
        Object.entries({
            modelName: "demo",
            serializedFile: fixture.args.serializedFile!,
            handler: fixture.args.handler!,
            modelStorePath: fixture.store,
            ...config,
        }).map(([k, v]) => [`torchserve-stack:${k}`, v]),
    );
    return errorOf(() =>
        resolveSettings(parseStackConfig(raw, "torchserve-stack", "dev", secretKeys), realFiles, secretKeys),
    );
}

/** The component's path: args, with extraProperties set as a secret. */
function fromSecretExtra(extraProperties: unknown, more: Partial<TorchServeStackArgs> = {}): ConfigValidationError {
    const args = { ...fixture.args, ...more, extraProperties } as TorchServeStackArgs;
    return errorOf(() => resolveSettings(args, realFiles, ["extraProperties"]));
}

describe("secret config in error messages", () => {
    for (const secret of [ESCAPED_SECRET, PLAIN_SECRET]) {
        const label = secret === ESCAPED_SECRET ? "with escapes" : "plain";
        it(`hides a secret entry's value (${label}) in every extraProperties problem`, () => {
            const cases: [string, unknown, RegExp][] = [
                ["a mistyped key", { keystore_pas: secret }, /not a TorchServe 0\.12 .*did you mean keystore_pass/],
                ["a key the program renders", { load_models: secret }, /load_models is rendered by this program/],
                ["a key read as another", { " keystore_pass": secret }, /read by TorchServe .* as the key/],
                ["a value that is not text", { keystore_pass: { nested: secret } }, /single string/],
                ["a key that undoes the hardening", { system_metrics_cmd: secret }, /undoes the stack's hardening/],
                ["not a map", secret, /must be a map/],
            ];
            for (const [what, extra, problem] of cases) {
                assert.doesNotThrow(() => assertHidden(fromSecretExtra(extra), secret, problem), what);
            }
        });

        it(`hides a secret (${label}) in the program's own problems: a mistyped key, a key that cannot be secret`, () => {
            const extraJson = JSON.stringify({ keystore_pass: secret });
            const mistypedMap = fromStackConfig({ extraPropertes: extraJson }, ["extraPropertes"]);
            assertHidden(mistypedMap, secret, /extraPropertes = \[secret\]: .*did you mean extraProperties/);
            assert.match(
                mistypedMap.message,
                /Fix: pulumi config rm extraPropertes && pulumi config set --secret --path 'extraProperties\.NAME' VALUE$/m,
            );
            const mistyped = fromStackConfig({ modelVerson: secret }, ["modelVerson"]);
            assertHidden(mistyped, secret, /did you mean modelVersion/);
            assert.match(
                mistyped.message,
                /pulumi config set modelVersion VALUE$/m,
                "no --secret: it would be refused",
            );
            const mistypedList = fromStackConfig({ extraFilez: secret }, ["extraFilez"]);
            assertHidden(mistypedList, secret, /did you mean extraFiles/);
            assert.match(mistypedList.message, /pulumi config set --path 'extraFiles\[0\]' VALUE$/m);
            assertHidden(fromStackConfig({ extraProperties: secret }, ["extraProperties"]), secret, /must be a map/);
            for (const key of ["modelVersion", "archiveKeep", "serviceType"]) {
                const refused = fromStackConfig({ [key]: secret }, [key]);
                assertHidden(
                    refused,
                    secret,
                    /is set as a secret, but its value ends up in plain text .*only extraProperties entries can stay secret/,
                );
                const parsed = errorOf(() =>
                    parseStackConfig({ [`torchserve-stack:${key}`]: secret }, "torchserve-stack", "dev", [key]),
                );
                assert.deepEqual(
                    parsed.problems.map((p) => [p.key, p.secret]),
                    [[key, true]],
                    "refused while parsing, with no other problem of the value",
                );
                assert.equal(refused.problems.length, 1, "nothing but the refusal: other checks quote values");
            }
        });
    }

    it("hides a secret value with escapes in the problems of values TorchServe cannot read", () => {
        assertHidden(fromSecretExtra({ keystore_pass: ESCAPED_SECRET }), ESCAPED_SECRET, /one line of printable ASCII/);
        const spaced = fromSecretExtra({ keystore_pass: ` ${PLAIN_SECRET} ` });
        assertHidden(spaced, PLAIN_SECRET, /leading or trailing spaces/);
        assert.match(spaced.message, /Fix: pulumi config set --path 'extraProperties\.keystore_pass' --secret VALUE/);
        const expanded = `${PLAIN_SECRET}$$${PLAIN_SECRET}`;
        assertHidden(fromSecretExtra({ keystore_pass: expanded }), PLAIN_SECRET, /contains \$\$/);
    });

    it("refuses a key that cannot stay secret alone, so no other problem quotes its value", () => {
        // Not secret, cpuLimit would be quoted in cpuRequest's problem ("is larger than cpuLimit (…)").
        const args = { ...fixture.args, cpuRequest: "900m", cpuLimit: "777m" };
        const plain = errorOf(() => resolveSettings(args, realFiles));
        assert.match(plain.message, /cpuRequest = "900m": is larger than cpuLimit \(777m\)/);
        const secret = errorOf(() => resolveSettings(args, realFiles, ["cpuLimit"]));
        assert.deepEqual(
            secret.problems.map((p) => p.key),
            ["cpuLimit"],
        );
        assert.doesNotMatch(secret.message, /777m/);
    });

    it("shows a problem of a secret key with no copy of the value, even one its text quoted", () => {
        const value = ` ${PLAIN_SECRET} `;
        const quoted = hideSecretValue({
            key: "extraProperties.keystore_pass",
            value,
            problem: `is ${value}, ${JSON.stringify(value)}, '${PLAIN_SECRET}'`,
            fix: `pulumi config set --path 'extraProperties.keystore_pass' ${JSON.stringify(PLAIN_SECRET)}`,
        });
        assert.deepEqual(quoted, {
            key: "extraProperties.keystore_pass",
            secret: true,
            problem: "is [secret], [secret], '[secret]'",
            fix: "pulumi config set --path 'extraProperties.keystore_pass' [secret]",
        });
        const map = hideSecretValue({
            key: "extraProperties",
            value: { a: ESCAPED_SECRET },
            problem: `is ${JSON.stringify({ a: ESCAPED_SECRET })} or ${JSON.stringify(ESCAPED_SECRET)}`,
            fix: "-",
        });
        assert.equal(map.problem, "is [secret] or [secret]");
        assert.equal("value" in map, false, "the value is not kept");
        const scrubbed = (value: unknown, text: string) =>
            hideSecretValue({ key: "extraProperties.x", value, problem: text, fix: "-" }).problem;
        assert.equal(scrubbed(ESCAPED_SECRET, `at ${JSON.stringify(ESCAPED_SECRET).slice(1, -1)}.`), "at [secret].");
        assert.equal(scrubbed("Zq7JvKwYpQx", 'is "Zq7JvKwYpQx"'), "is [secret]", "the quoted copy with its quotes");
        assert.equal(scrubbed(98765432, "port 98765432"), "port [secret]");
        assert.equal(scrubbed("Zq7J", "is Zq7J"), "is [secret]");
        for (const word of ["mistrue", "truest", "falsetto"]) {
            assert.equal(scrubbed(word, `is ${word}`), "is [secret]", "only true and false themselves are left");
        }
        assert.equal(scrubbed("in", "must be in the list"), "must be in the list", "too short to hide anything");
        for (const value of [true, "true", " FALSE"]) {
            assert.equal(scrubbed(value, "set allowUnsafeExtraProperties true"), "set allowUnsafeExtraProperties true");
        }
        for (const value of [undefined, null]) {
            assert.equal(scrubbed(value, "is not set"), "is not set");
        }
    });

    it("still shows values of keys that are not secret", () => {
        const error = fromStackConfig({ modelVerson: "v1" }, []);
        assert.match(
            error.message,
            /modelVerson = "v1": .*\n\s+Fix: pulumi config rm modelVerson && pulumi config set modelVersion v1$/,
        );
        const extra = fromSecretExtra({ keystore_pass: " x " }, {});
        assert.ok(extra);
        const plainExtra = errorOf(() =>
            resolveSettings({ ...fixture.args, extraProperties: { keystore_pass: " spaced " } }, realFiles),
        );
        assert.match(plainExtra.message, /extraProperties\.keystore_pass = " spaced ": has leading or trailing spaces/);
        assert.match(plainExtra.message, /Fix: pulumi config set --path 'extraProperties\.keystore_pass' "spaced"/);
    });
});
