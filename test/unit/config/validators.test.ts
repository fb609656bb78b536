/**
 * The validators at their edges, against the rules Kubernetes and TorchServe apply (RFC 1123 and
 * 1035 names, label values, resource quantities): the mutation run found them tested only through
 * a few bad configs, so an unanchored pattern or a length limit off by one passed every test.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    cidrContains,
    closestMatch,
    editDistance,
    hasHostBits,
    isDns1035Label,
    isDnsLabel,
    isDnsSubdomain,
    isIntInRange,
    isIntOrPercent,
    isLabelValue,
    isModelVersion,
    isModelName,
    isQuantity,
    isZeroBound,
    networkOf,
    parseCidr,
    quantityValue,
} from "../../../components/config";

function check(validator: (value: string) => boolean, good: string[], bad: string[]): void {
    for (const value of good) {
        assert.equal(validator(value), true, `${validator.name}(${JSON.stringify(value)})`);
    }
    for (const value of bad) {
        assert.equal(validator(value), false, `${validator.name}(${JSON.stringify(value)})`);
    }
}

describe("validators", () => {
    it("accepts RFC 1123 labels of 1-63 characters and nothing around them (namespaces)", () => {
        check(
            isDnsLabel,
            ["a", "ml-prod", "0a", "a".repeat(63)],
            ["", "a".repeat(64), "-a", "a-", "A", "a_b", "a.b", "ok!", "!ok"],
        );
    });

    it("accepts RFC 1035 labels (Service names: a letter first)", () => {
        check(
            isDns1035Label,
            ["a", "ts-internal", "a".repeat(63)],
            ["", "0a", "a".repeat(64), "a-", "a.b", "ok!", "!ok"],
        );
    });

    it("accepts DNS subdomains of at most 253 characters (claim and volume names)", () => {
        const long = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
        assert.equal(long.length, 253);
        check(
            isDnsSubdomain,
            ["a", "a.b", "model-store.v1", "a-b.c-d", long],
            ["", `${long}e`, "a..b", ".a", "a.", "a.-b", "a-.b", "A.b", "a.b!", "!a.b", "a_b"],
        );
    });

    it("accepts label values of at most 63 characters, alphanumeric at both ends (model versions)", () => {
        check(
            isLabelValue,
            ["", "v1", "1.2.0", "run_2026-11-25", "a".repeat(63)],
            ["a".repeat(64), "-v1", "v1-", "_v1", "v1.", "v 1", "v1!", "!v1"],
        );
    });

    it("accepts model versions: non-empty label values not ending in .mar, without '..'", () => {
        check(
            isModelVersion,
            ["v1", "1.2.0", "mar", "v2.mar1", "x-mar", "a".repeat(63)],
            ["", "a".repeat(64), "v1/bad", "-v1", "v2.mar", "v2.MAR", "v2.mar.mar", "a..b"],
        );
    });

    it("accepts model names without dots, of at most 64 characters", () => {
        check(
            isModelName,
            ["demo", "res-net_50", "M", "a".repeat(64)],
            ["", "a".repeat(65), "de.mo", "-demo", "_demo", "de mo", "demo!"],
        );
    });

    it("accepts Kubernetes quantities and reads their value", () => {
        check(
            isQuantity,
            ["1", "100m", "1.5", ".5", "1.", "4Gi", "10Ki", "1e3", "1E-2", "2k", "1Ei"],
            ["", "Gi", "1GB", "1.5.5", "-1", "1 Gi", "x1", "1Gix", ".", "1e", "1.x"],
        );
        const expected: Record<string, number> = {
            "1": 1,
            "100m": 0.1,
            "250n": 250e-9,
            "5u": 5e-6,
            "2k": 2000,
            "3M": 3e6,
            "1G": 1e9,
            "1T": 1e12,
            "1P": 1e15,
            "1E": 1e18,
            "1Ki": 1024,
            "1.5Mi": 1.5 * 2 ** 20,
            "4Gi": 4 * 2 ** 30,
            "1Ti": 2 ** 40,
            "1Pi": 2 ** 50,
            "1Ei": 2 ** 60,
            ".5": 0.5,
            "1e3": 1000,
            "25E-1": 2.5,
            "1e+2": 100,
        };
        for (const [text, value] of Object.entries(expected)) {
            assert.ok(
                Math.abs(quantityValue(text) - value) <= value * 1e-12,
                `${text} = ${value}, got ${quantityValue(text)}`,
            );
        }
        assert.throws(() => quantityValue("lots"), /not a quantity: lots/);
    });

    it("accepts rollout bounds as whole numbers or percentages, and tells a zero bound", () => {
        for (const good of [0, 1, 3, "0%", "25%", "100%"]) {
            assert.equal(isIntOrPercent(good), true, String(good));
        }
        for (const bad of [-1, 1.5, "25", "%", "x25%", "25%x", "2.5%", "-5%"]) {
            assert.equal(isIntOrPercent(bad), false, String(bad));
        }
        for (const zero of [0, "0%", "00%"]) {
            assert.equal(isZeroBound(zero), true, String(zero));
        }
        for (const nonZero of [1, "1%", "10%"]) {
            assert.equal(isZeroBound(nonZero), false, String(nonZero));
        }
    });

    it("checks whole numbers in a closed range", () => {
        assert.deepEqual(
            [0, 1, 50, 100, 101, 1.5].map((n) => isIntInRange(n, 1, 100)),
            [false, true, true, true, false, false],
        );
    });

    it("suggests the closest key within a few edits, case-insensitively", () => {
        assert.equal(editDistance("modelVerson", "modelVersion"), 1);
        assert.equal(editDistance("abc", "abc"), 0);
        assert.equal(editDistance("", "abc"), 3);
        assert.equal(editDistance("abc", ""), 3);
        assert.equal(editDistance("kitten", "sitting"), 3);
        assert.equal(editDistance("ABC", "abc"), 0);
        const keys = ["modelVersion", "modelName", "replicas", "maxSurge", "image"];
        assert.equal(closestMatch("modelVerson", keys), "modelVersion");
        assert.equal(closestMatch("replcas", keys), "replicas");
        assert.equal(closestMatch("imgae", keys), "image", "a swap is two edits: within reach of a short key");
        assert.equal(closestMatch("imxyz", keys), undefined, "three edits of a 5-letter key is another word");
        assert.equal(closestMatch("completelyDifferent", keys), undefined);
        assert.equal(
            closestMatch("maxSurges", ["maxSurge", "maxSurges2"]),
            "maxSurge",
            "the first of equally close keys",
        );
    });
});

describe("CIDR blocks", () => {
    it("parses IPv4 and IPv6 blocks and refuses bare addresses and bad prefixes", () => {
        assert.deepEqual(parseCidr("10.0.0.0/8"), { family: 4, address: 0x0a000000n, prefix: 8 });
        assert.deepEqual(parseCidr("fd00::1/128"), { family: 6, address: (0xfd00n << 112n) | 1n, prefix: 128 });
        assert.equal(parseCidr("::ffff:10.0.0.1/128")!.address, (0xffffn << 32n) | 0x0a000001n);
        assert.equal(parseCidr("::ffff:192.168.100.200/128")!.address, (0xffffn << 32n) | 0xc0a864c8n);
        assert.equal(parseCidr("1:2:3:4:5:6:7:8/128")!.address, 0x00010002000300040005000600070008n);
        const bads = ["10.0.0.1", "10.0.0.0/33", "fd00::/129", "10.0.0.0/08", "10.0.0/8", " 10.0.0.0/8", "x/8"];
        for (const bad of [...bads, "10.0.0.0/8x", "10.0.0.0/8 "]) {
            assert.equal(parseCidr(bad), undefined, bad);
        }
        assert.equal(parseCidr("0.0.0.0/0")!.prefix, 0);
    });

    it("gives the network address and tells host bits", () => {
        assert.equal(networkOf(parseCidr("10.1.2.3/8")!), "10.0.0.0/8");
        assert.equal(networkOf(parseCidr("192.168.1.77/32")!), "192.168.1.77/32");
        assert.equal(networkOf(parseCidr("FD00:0:0:0:0:0:0:1/16")!), "fd00::/16");
        assert.equal(networkOf(parseCidr("fd00:ec2:0:0:0:0:0:254/128")!), "fd00:ec2::254/128");
        assert.equal(networkOf(parseCidr("1:0:1:0:0:1:0:1/128")!), "1:0:1::1:0:1/128");
        assert.equal(networkOf(parseCidr("::/0")!), "::/0");
        // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes "::".
        for (const [written, canonical] of [
            ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
            ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
            ["0:0:0:0:0:0:0:1", "::1"],
            ["1:0:0:0:0:0:0:0", "1::"],
            ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
            ["1:0:0:0:2:0:0:0", "1::2:0:0:0"],
            ["0:0:1:0:0:0:0:0", "0:0:1::"],
        ]) {
            assert.equal(networkOf(parseCidr(`${written}/128`)!), `${canonical}/128`, written);
        }
        assert.equal(hasHostBits(parseCidr("10.1.2.3/8")!), true);
        assert.equal(hasHostBits(parseCidr("10.1.2.2/8")!), true, "host bits other than the last");
        assert.equal(hasHostBits(parseCidr("10.0.0.0/8")!), false);
        assert.equal(hasHostBits(parseCidr("10.0.0.1/32")!), false);
        assert.equal(hasHostBits(parseCidr("fd00::1/64")!), true);
    });

    it("tells whether a block holds another, by family", () => {
        const block = (text: string) => parseCidr(text)!;
        assert.ok(cidrContains(block("0.0.0.0/0"), block("169.254.169.254/32")));
        assert.ok(cidrContains(block("169.254.0.0/16"), block("169.254.169.254/32")));
        assert.ok(cidrContains(block("169.254.169.254/32"), block("169.254.169.254/32")));
        assert.equal(cidrContains(block("169.254.169.254/32"), block("169.254.0.0/16")), false);
        assert.equal(cidrContains(block("10.0.0.0/8"), block("169.254.169.254/32")), false);
        assert.equal(cidrContains(block("10.0.0.0/32"), block("10.0.0.0/8")), false, "a smaller block holds no larger");
        assert.equal(cidrContains(block("::/0"), block("169.254.169.254/32")), false, "another family");
        assert.ok(cidrContains(block("fd00::/8"), block("fd00:ec2::254/128")));
    });
});
