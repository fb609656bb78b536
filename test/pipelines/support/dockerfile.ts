/** A small Dockerfile reader for static checks: instructions, stages and ARG scoping. */

export interface Instruction {
    /** Upper-case keyword: FROM, RUN, COPY, ... */
    readonly keyword: string;
    /** The rest of the instruction, continuation lines joined. */
    readonly args: string;
    readonly line: number;
}

export interface Stage {
    readonly index: number;
    readonly name?: string;
    /** The FROM image as written (ARGs not expanded). */
    readonly from: string;
    readonly instructions: Instruction[];
}

export interface Dockerfile {
    /** ARGs before the first FROM, with their defaults. */
    readonly globalArgs: Record<string, string | undefined>;
    readonly stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
    const instructions: Instruction[] = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
        const first = lines[i];
        if (/^\s*(#.*)?$/.test(first)) continue; // blank, comment, parser directive
        const start = i;
        let joined = first;
        while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
            joined = joined.replace(/\\\s*$/, " ");
            i++;
            if (/^\s*#/.test(lines[i])) continue; // comments inside a continuation are dropped
            joined += lines[i];
        }
        const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(joined);
        if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse '${first}'`);
        instructions.push({ keyword: m[1].toUpperCase(), args: m[2].trim().replace(/\s+/g, " "), line: start + 1 });
    }
    const globalArgs: Record<string, string | undefined> = {};
    const stages: Stage[] = [];
    for (const ins of instructions) {
        if (ins.keyword === "FROM") {
            const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
            if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot parse FROM ${ins.args}`);
            stages.push({ index: stages.length, from: m[1], ...(m[2] ? { name: m[2] } : {}), instructions: [] });
        } else if (stages.length === 0) {
            if (ins.keyword !== "ARG")
                throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before the first FROM`);
            const [name, value] = splitArg(ins.args);
            globalArgs[name] = value;
        } else {
            stages[stages.length - 1].instructions.push(ins);
        }
    }
    return { globalArgs, stages };
}

export function splitArg(args: string): [string, string | undefined] {
    const eq = args.indexOf("=");
    return eq < 0 ? [args, undefined] : [args.slice(0, eq), args.slice(eq + 1).replace(/^"(.*)"$/, "$1")];
}

/** Expands ${NAME} / $NAME with the given values; unknown names stay as they are. */
export function expand(text: string, values: Record<string, string | undefined>): string {
    return text.replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
        (all, a, b) => values[a ?? b] ?? all,
    );
}

/** Variables a stage may reference: its ARGs (defaults from the global ones) and ENVs, in order of declaration. */
export function stageVariables(df: Dockerfile, stage: Stage, upToLine = Infinity): Record<string, string | undefined> {
    const vars: Record<string, string | undefined> = {};
    for (const ins of stage.instructions) {
        if (ins.line >= upToLine) break;
        if (ins.keyword === "ARG") {
            const [name, value] = splitArg(ins.args);
            vars[name] = value ?? df.globalArgs[name];
        } else if (ins.keyword === "ENV") {
            for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) {
                vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
            }
        }
    }
    return vars;
}

/** Parses a COPY/ADD: its flags and its sources and destination (JSON or plain form). */
export function parseCopy(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
    const flags: Record<string, string> = {};
    let rest = args;
    for (let m; (m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest)); rest = rest.slice(m[0].length)) {
        flags[m[1]] = m[2] ?? "";
    }
    const words: string[] = rest.startsWith("[") ? JSON.parse(rest) : rest.split(" ");
    return { flags, sources: words.slice(0, -1), dest: words[words.length - 1] };
}

/** The exec-form (JSON array) value of an ENTRYPOINT or CMD, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
    if (!args.startsWith("[")) return undefined;
    return JSON.parse(args);
}
