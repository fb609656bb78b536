/**
 * Address blocks (CIDR notation) as NetworkPolicy's `ipBlock` takes them:
 * parsing, the network address, and whether a block holds an address. Pure.
 */
import { isIPv4, isIPv6 } from "node:net";

/** A parsed address block. */
export interface Cidr {
    readonly family: 4 | 6;
    /** The address as written, as a number (IPv4: 32 bits, IPv6: 128). */
    readonly address: bigint;
    readonly prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;

/** `10.0.0.0/8`, `fd00::/8`; undefined for anything else (a bare address, a prefix out of range). */
export function parseCidr(text: string): Cidr | undefined {
    const match = /^([^/\s]+)\/([0-9]{1,3})$/.exec(text);
    if (!match) {
        return undefined;
    }
    const family = isIPv4(match[1]) ? 4 : isIPv6(match[1]) ? 6 : undefined;
    const prefix = Number(match[2]);
    if (family === undefined || prefix > BITS[family] || (match[2].length > 1 && match[2].startsWith("0"))) {
        return undefined;
    }
    return { family, address: addressValue(match[1], family), prefix };
}

/** The block's network address (its host bits cleared), in canonical CIDR notation. */
export function networkOf(cidr: Cidr): string {
    return `${formatAddress(cidr.address & mask(cidr), cidr.family)}/${cidr.prefix}`;
}

/** Whether the block's address has host bits set (`10.0.0.1/8`), so it does not name the network it means. */
export function hasHostBits(cidr: Cidr): boolean {
    return (cidr.address & ~mask(cidr) & ((1n << BigInt(BITS[cidr.family])) - 1n)) !== 0n;
}

/** Whether `block` holds every address of `inner`. */
export function cidrContains(block: Cidr, inner: Cidr): boolean {
    return (
        block.family === inner.family &&
        block.prefix <= inner.prefix &&
        (block.address & mask(block)) === (inner.address & mask(block))
    );
}

function mask(cidr: Cidr): bigint {
    const bits = BITS[cidr.family];
    return ((1n << BigInt(cidr.prefix)) - 1n) << BigInt(bits - cidr.prefix);
}

function addressValue(text: string, family: 4 | 6): bigint {
    if (family === 4) {
        return text.split(".").reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n);
    }
    // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two groups.
    const ipv4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    let groupsText = text;
    if (ipv4Tail) {
        const v4 = addressValue(ipv4Tail[1], 4);
        groupsText = `${text.slice(0, -ipv4Tail[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
    }
    const [head, tail] = groupsText.includes("::") ? groupsText.split("::") : [groupsText, undefined];
    const headGroups = head ? head.split(":") : [];
    const tailGroups = tail ? tail.split(":") : [];
    const groups =
        tail === undefined
            ? headGroups
            : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
    return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function formatAddress(value: bigint, family: 4 | 6): string {
    if (family === 4) {
        return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
    }
    const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
    // The longest run of two or more zero groups becomes `::` (RFC 5952).
    let best = { start: -1, length: 0 };
    for (let i = 0; i < 8;) {
        if (groups[i] !== "0") {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === "0") {
            j++;
        }
        if (j - i > best.length && j - i >= 2) {
            best = { start: i, length: j - i };
        }
        i = j;
    }
    if (best.start < 0) {
        return groups.join(":");
    }
    return `${groups.slice(0, best.start).join(":")}::${groups.slice(best.start + best.length).join(":")}`;
}
