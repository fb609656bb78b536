/**
 * What a `.mar` holds, read from its zip central directory (names, sizes,
 * CRC-32s) without unpacking it, or a model directory holds, and whether it
 * was built from given files. Used where the store has a version's entry but
 * no record of its inputs (one of the old flat layout): the step compares each
 * input file with the entry's file of the same name before it reuses the
 * entry for them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

/** One file in a zip archive. */
export interface ZipEntry {
    readonly name: string;
    readonly size: number;
    readonly crc32: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const ZIP64_SENTINEL = 0xffffffff;

/** The entries of a zip file's central directory (zip64 sizes included). */
export function readZipEntries(file: string): ZipEntry[] {
    const fd = fs.openSync(file, "r");
    try {
        const size = fs.fstatSync(fd).size;
        // The end record is in the last 22 + 65535 (comment) bytes.
        const tailLength = Math.min(size, 22 + 0xffff);
        const tail = Buffer.alloc(tailLength);
        fs.readSync(fd, tail, 0, tailLength, size - tailLength);
        let end = -1;
        for (let i = tailLength - 22; i >= 0; i--) {
            if (tail.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY) {
                end = i;
                break;
            }
        }
        if (end < 0) {
            throw new Error(`${file} is not a zip archive`);
        }
        const count = tail.readUInt16LE(end + 10);
        const directorySize = tail.readUInt32LE(end + 12);
        const directoryOffset = tail.readUInt32LE(end + 16);
        if (directoryOffset === ZIP64_SENTINEL || count === 0xffff) {
            throw new Error(`${file}: a zip64 central directory is not supported`);
        }
        const directory = Buffer.alloc(directorySize);
        fs.readSync(fd, directory, 0, directorySize, directoryOffset);
        const entries: ZipEntry[] = [];
        for (let at = 0, n = 0; n < count; n++) {
            if (directory.readUInt32LE(at) !== CENTRAL_FILE_HEADER) {
                throw new Error(`${file}: damaged central directory`);
            }
            const crc32 = directory.readUInt32LE(at + 16);
            let entrySize = directory.readUInt32LE(at + 24);
            const nameLength = directory.readUInt16LE(at + 28);
            const extraLength = directory.readUInt16LE(at + 30);
            const commentLength = directory.readUInt16LE(at + 32);
            const name = directory.toString("utf8", at + 46, at + 46 + nameLength);
            if (entrySize === ZIP64_SENTINEL) {
                entrySize = zip64Size(directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
            }
            entries.push({ name, size: entrySize, crc32 });
            at += 46 + nameLength + extraLength + commentLength;
        }
        return entries;
    } finally {
        fs.closeSync(fd);
    }
}

/** The uncompressed size from a zip64 extra field (tag 1). */
function zip64Size(extra: Buffer): number {
    for (let at = 0; at + 4 <= extra.length;) {
        const tag = extra.readUInt16LE(at);
        const length = extra.readUInt16LE(at + 2);
        if (tag === 0x0001) {
            return Number(extra.readBigUInt64LE(at + 4));
        }
        at += 4 + length;
    }
    throw new Error("zip64 entry without its size");
}

/** CRC-32 of a file's bytes, read in 8 MiB chunks. */
export function fileCrc32(file: string): number {
    const buffer = Buffer.allocUnsafe(8 * 1024 * 1024);
    const fd = fs.openSync(file, "r");
    let crc = 0;
    try {
        for (;;) {
            const read = fs.readSync(fd, buffer, 0, buffer.length, null);
            if (read === 0) {
                return crc;
            }
            crc = zlib.crc32(buffer.subarray(0, read), crc);
        }
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * Differences between the archive and the files it should have been built
 * from (each file is an entry named by its base name, as the archiver packs
 * it); empty when every file matches its entry's size and CRC-32.
 */
export function marMismatches(archive: string, files: readonly string[]): string[] {
    const entries = new Map(readZipEntries(archive).map((e) => [e.name, e]));
    const problems: string[] = [];
    for (const file of files) {
        const name = path.basename(file);
        const entry = entries.get(name);
        if (!entry) {
            problems.push(`${name} is not in the archive`);
        } else if (entry.size !== fs.statSync(file).size || entry.crc32 !== fileCrc32(file)) {
            problems.push(`${name} differs from the archive's copy`);
        }
    }
    return problems;
}

/**
 * Differences between a model directory (the archiver's `no-archive` output)
 * and the files it should have been built from (each a file of the same base
 * name at its top level); empty when every file matches in size and CRC-32.
 */
export function dirMismatches(dir: string, files: readonly string[]): string[] {
    const problems: string[] = [];
    for (const file of files) {
        const name = path.basename(file);
        const copy = path.join(dir, name);
        let size: number;
        try {
            size = fs.statSync(copy).size;
        } catch {
            problems.push(`${name} is not in the directory`);
            continue;
        }
        if (size !== fs.statSync(file).size || fileCrc32(copy) !== fileCrc32(file)) {
            problems.push(`${name} differs from the directory's copy`);
        }
    }
    return problems;
}

/** {@link marMismatches} or {@link dirMismatches}, by the entry's kind. */
export function entryMismatches(entry: string, kind: "mar" | "dir", files: readonly string[]): string[] {
    return kind === "mar" ? marMismatches(entry, files) : dirMismatches(entry, files);
}
