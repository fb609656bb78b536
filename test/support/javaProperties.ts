/**
 * A parser that follows java.util.Properties.load(Reader) to the letter:
 * comment lines (# or !), key terminated by the first unescaped '=', ':' or
 * whitespace, escapes, and line continuation. Tests use it to check that
 * rendered config.properties reads back to exactly the intended map.
 */
export function parseJavaProperties(text: string): Record<string, string> {
    const result: Record<string, string> = {};
    const physical = text.split(/\r\n|\r|\n/);
    for (let i = 0; i < physical.length; i++) {
        let line = physical[i].replace(/^[ \t\f]+/, "");
        if (line === "" || line.startsWith("#") || line.startsWith("!")) {
            continue;
        }
        // A line ending in an odd number of backslashes continues on the next line.
        while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < physical.length) {
            line = line.slice(0, -1) + physical[++i].replace(/^[ \t\f]+/, "");
        }
        let keyEnd = 0;
        while (keyEnd < line.length) {
            const c = line[keyEnd];
            if (c === "\\") {
                keyEnd += 2;
                continue;
            }
            if (c === "=" || c === ":" || c === " " || c === "\t" || c === "\f") {
                break;
            }
            keyEnd++;
        }
        let valueStart = keyEnd;
        while (valueStart < line.length && /[ \t\f]/.test(line[valueStart])) {
            valueStart++;
        }
        if (valueStart < line.length && (line[valueStart] === "=" || line[valueStart] === ":")) {
            valueStart++;
            while (valueStart < line.length && /[ \t\f]/.test(line[valueStart])) {
                valueStart++;
            }
        }
        result[unescape(line.slice(0, keyEnd))] = unescape(line.slice(valueStart));
    }
    return result;
}

function unescape(text: string): string {
    return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escaped: string) => {
        if (escaped.length === 5) {
            return String.fromCharCode(parseInt(escaped.slice(1), 16));
        }
        return ({ t: "\t", n: "\n", r: "\r", f: "\f" } as Record<string, string>)[escaped] ?? escaped;
    });
}

/** TorchServe's naive Python reader (ts/model_server.py): split on the first '=', no continuation. */
export function parseNaivePython(text: string): Record<string, string> {
    const result: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const trimmed = line.trim();
        if (!trimmed || trimmed.startsWith("#") || !trimmed.includes("=")) {
            continue;
        }
        const eq = trimmed.indexOf("=");
        result[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1).trim();
    }
    return result;
}
