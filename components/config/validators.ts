/** Pure predicates for the value formats Kubernetes and TorchServe accept. */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
// No dots: an archive is stored as `<modelName>.<version>.mar`, split at the first dot.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const QUANTITY = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const PERCENT = /^[0-9]+%$/;

/** RFC 1123 label: namespaces, most object names. */
export function isDnsLabel(value: string): boolean {
    return value.length <= 63 && DNS_LABEL.test(value);
}

/** RFC 1035 label: Service names (must start with a letter). */
export function isDns1035Label(value: string): boolean {
    return value.length <= 63 && DNS_1035_LABEL.test(value);
}

/** RFC 1123 subdomain: claim and storage class names. */
export function isDnsSubdomain(value: string): boolean {
    return value.length <= 253 && DNS_SUBDOMAIN.test(value);
}

/** Kubernetes label value (the model version becomes `app.kubernetes.io/version`). */
export function isLabelValue(value: string): boolean {
    return value.length <= 63 && LABEL_VALUE.test(value);
}

/**
 * A `modelVersion` the store can name both ways and parse back, and TorchServe
 * loads: a non-empty label value that does not end in `.mar` (any case; the
 * directory of version `v2.mar` would be `<model>.v2.mar`, the very name of
 * version `v2`'s archive) and holds no `..` (TorchServe 0.12 refuses any
 * `load_models` entry containing `..` as a relative path).
 */
export function isModelVersion(value: string): boolean {
    return value !== "" && isLabelValue(value) && !/\.mar$/i.test(value) && !value.includes("..");
}

/** A model name TorchServe serves and the archive naming can parse back. */
export function isModelName(value: string): boolean {
    return value.length <= 64 && MODEL_NAME.test(value);
}

/** Kubernetes resource quantity such as `500m`, `1`, `4Gi`, `1e3`. */
export function isQuantity(value: string): boolean {
    return QUANTITY.test(value);
}

const SUFFIX_FACTORS: Readonly<Record<string, number>> = {
    "": 1,
    n: 1e-9,
    u: 1e-6,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
};

/** Numeric value of a valid quantity, for comparing requests with limits. */
export function quantityValue(value: string): number {
    const match = QUANTITY.exec(value);
    if (!match) {
        throw new Error(`not a quantity: ${value}`);
    }
    const suffix = match[3] ?? "";
    const number = Number(match[1]);
    if (/^[eE][+-]?[0-9]/.test(suffix)) {
        return number * 10 ** Number(suffix.slice(1));
    }
    return number * SUFFIX_FACTORS[suffix];
}

/** A RollingUpdate bound: a non-negative integer or a percentage. */
export function isIntOrPercent(value: number | string): boolean {
    return typeof value === "number" ? Number.isInteger(value) && value >= 0 : PERCENT.test(value);
}

/** True when a RollingUpdate bound is zero (`0` or `0%`). */
export function isZeroBound(value: number | string): boolean {
    return typeof value === "number" ? value === 0 : Number.parseInt(value, 10) === 0;
}

/** An integer within [min, max]. */
export function isIntInRange(value: number, min: number, max: number): boolean {
    return Number.isInteger(value) && value >= min && value <= max;
}

/** Case-insensitive edit distance (`ArchiveKeep` is 0 from `archiveKeep`), for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
    const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diagonal = previous[0];
        previous[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const above = previous[j];
            const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
            previous[j] = Math.min(previous[j] + 1, previous[j - 1] + 1, diagonal + cost);
            diagonal = above;
        }
    }
    return previous[b.length];
}

/** The closest candidate within a small edit distance, if any. */
export function closestMatch(value: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Math.max(2, Math.floor(value.length / 3)) + 1;
    for (const candidate of candidates) {
        const distance = editDistance(value, candidate);
        if (distance < bestDistance) {
            best = candidate;
            bestDistance = distance;
        }
    }
    return best;
}
