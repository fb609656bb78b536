import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FRONTEND_BYTES, WORKER_BYTES, estimatePodMemory, memoryWarnings } from "../../../components/kubernetes";
import { TorchServeStackArgs, resolveSettings } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

const MIB = 2 ** 20;
const GIB = 2 ** 30;
const fixture = makeModelDir();
const settingsWith = (extra: Partial<TorchServeStackArgs>) => resolveSettings({ ...fixture.args, ...extra }, realFiles);

describe("memory a pod needs", () => {
    it("is the frontend plus, per worker of every version, a Python worker and its weights; loading adds the largest", () => {
        // Smallest first: the largest is not the first (nor the last of three).
        const estimate = estimatePodMemory([100 * MIB, GIB, 200 * MIB], 2);
        assert.equal(
            estimate.residentBytes,
            FRONTEND_BYTES + 2 * (WORKER_BYTES + 100 * MIB) + 2 * (WORKER_BYTES + GIB) + 2 * (WORKER_BYTES + 200 * MIB),
        );
        assert.equal(estimate.loadingBytes, estimate.residentBytes + GIB);
        assert.equal(estimate.unknownVersions, 0);
    });

    it("matches the measured cgroup rss of 1 and 3 loaded 1 GiB versions within 10% (README, Memory per pod)", () => {
        // Measured on the real node (TorchServe 0.12, one worker per version): 1.26-1.28 GiB and 3.54-3.55 GiB.
        const one = estimatePodMemory([GIB], 1).residentBytes / GIB;
        const three = estimatePodMemory([GIB, GIB, GIB], 1).residentBytes / GIB;
        assert.ok(one >= 1.26 && one <= 1.28 * 1.1, `one version: ${one}`);
        assert.ok(three >= 3.54 && three <= 3.55 * 1.1, `three versions: ${three}`);
    });

    it("counts versions of unknown size without weights", () => {
        const estimate = estimatePodMemory([GIB, 0], 1);
        assert.equal(estimate.residentBytes, FRONTEND_BYTES + 2 * WORKER_BYTES + GIB);
        assert.equal(estimate.unknownVersions, 1);
    });
});

describe("memory warnings", () => {
    it("says nothing when the limit holds the versions and their loading", () => {
        assert.deepEqual(memoryWarnings(settingsWith({}), ["v2"], [GIB]), []);
    });

    it("warns of memory pressure for three 1 GiB versions under the default 4Gi limit, naming the keys to change", () => {
        const [warning, ...rest] = memoryWarnings(settingsWith({}), ["v3", "v2", "v1"], [GIB, GIB, GIB]);
        assert.equal(rest.length, 0);
        assert.match(warning, /memoryLimit 4Gi leaves no room to load 3 versions \(v3, v2, v1\) × 1 worker/);
        assert.match(warning, /raise memoryLimit, or lower servedVersions or maxWorkers/);
    });

    it("warns that the pods will be killed when the limit is below their resident memory", () => {
        const [warning] = memoryWarnings(settingsWith({ memoryLimit: "2Gi", maxWorkers: 2 }), ["v2"], [GIB]);
        assert.match(warning, /memoryLimit 2Gi is below the 2\.44 GiB each pod needs for 1 version \(v2\) × 2 workers/);
        assert.match(warning, /killed for memory/);
    });

    it("says what the pods need and leave, with every figure in GiB", () => {
        const [pressure] = memoryWarnings(settingsWith({}), ["v3", "v2", "v1"], [GIB, GIB, GIB]);
        assert.equal(
            pressure,
            "memoryLimit 4Gi leaves no room to load 3 versions (v3, v2, v1) × 1 worker: they need 3.59 GiB " +
                "resident plus 1.00 GiB of page cache while loading, so the pods load under memory pressure " +
                "(slow starts); raise memoryLimit, or lower servedVersions or maxWorkers (about 4.59 GiB)",
        );
        const [killed] = memoryWarnings(settingsWith({ memoryLimit: "2Gi", maxWorkers: 2 }), ["v2"], [GIB]);
        assert.equal(
            killed,
            "memoryLimit 2Gi is below the 2.44 GiB each pod needs for 1 version (v2) × 2 workers: the pods " +
                "will be killed for memory while loading; raise memoryLimit, or lower servedVersions or " +
                "maxWorkers (about 3.44 GiB leaves room to load)",
        );
    });

    it("counts the page cache of the largest version, wherever it is in the list", () => {
        const [warning, ...rest] = memoryWarnings(settingsWith({ memoryLimit: "2Gi" }), ["v2", "v1"], [100 * MIB, GIB]);
        assert.equal(rest.length, 0);
        assert.equal(
            warning,
            "memoryLimit 2Gi leaves no room to load 2 versions (v2, v1) × 1 worker: they need 1.54 GiB resident " +
                "plus 1.00 GiB of page cache while loading, so the pods load under memory pressure (slow starts); " +
                "raise memoryLimit, or lower servedVersions or maxWorkers (about 2.54 GiB)",
        );
    });

    it("counts a version of unknown size without weights and says so", () => {
        const [warning] = memoryWarnings(settingsWith({ memoryLimit: "2Gi" }), ["v2", "v1"], [2 * GIB, 0]);
        assert.match(warning, /2 versions \(v2, v1\) × 1 worker; 1 of them of unknown size, counted without weights/);
    });

    it("warns only below the figures: a limit of exactly the resident or loading memory is enough", () => {
        const { residentBytes, loadingBytes } = estimatePodMemory([GIB], 1);
        const atResident = `${residentBytes / MIB}Mi`;
        const atLoading = `${loadingBytes / MIB}Mi`;
        const request = { memoryRequest: "512Mi" };
        assert.match(
            memoryWarnings(settingsWith({ ...request, memoryLimit: atResident }), ["v1"], [GIB])[0],
            /no room/,
        );
        assert.deepEqual(memoryWarnings(settingsWith({ ...request, memoryLimit: atLoading }), ["v1"], [GIB]), []);
        const below = `${residentBytes / MIB - 1}Mi`;
        assert.match(memoryWarnings(settingsWith({ ...request, memoryLimit: below }), ["v1"], [GIB])[0], /killed/);
    });

    it("warns when one version's size is known even if another's is not", () => {
        assert.equal(memoryWarnings(settingsWith({ memoryLimit: "1Gi" }), ["v2", "v1"], [0, GIB]).length, 1);
    });

    it("says nothing on GPU pods or when no version's size is known", () => {
        assert.deepEqual(memoryWarnings(settingsWith({ gpus: 1, memoryLimit: "1Gi" }), ["v2"], [GIB]), []);
        assert.deepEqual(
            memoryWarnings(settingsWith({ memoryRequest: "128Mi", memoryLimit: "128Mi" }), ["v2"], [0]),
            [],
        );
    });
});
