// Tablao job-type prelude: the author API that Flamenco-style job-type scripts expect.
//
// Evaluated in a fresh QuickJS context before each job-type script. The host passes
// plain JSON on the `dukpy` global (`dukpy.env`: platform, cwd, seed); nothing here
// calls back into Python, so a compile is one pure JS run that returns one JSON document.
//
// Errors raised by this prelude are thrown as strings on purpose: strings carry no
// stack, so the location reported for an Error always points into the user's script.
"use strict";

const __tablao = (() => {
  const env = dukpy.env || {};
  const MAX_PRINTED_LINES = 1000;
  const MAX_LINE_LENGTH = 10000;
  // Past about 60,000 tasks a job no longer fits the compiler's JS heap (QuickJS then throws a
  // bare `null`), nor its time limit on a slow machine: refuse earlier, saying what to do.
  // Chunks become tasks one to one, plus a few per job (a preview video, say).
  const MAX_TASKS = 60000;
  const MAX_CHUNKS = 50000;

  function thousands(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  const printed = [];
  let droppedLines = 0;

  // ---- output collection ------------------------------------------------------------

  function formatArg(arg) {
    if (typeof arg === "string") return arg;
    if (arg === undefined || typeof arg === "function" || typeof arg === "symbol") return String(arg);
    if (arg instanceof Error) return String(arg);
    try {
      const json = JSON.stringify(arg);
      return json === undefined ? String(arg) : json;
    } catch (e) {
      return String(arg); // cyclic structures and the like
    }
  }

  function collect(level, args) {
    if (printed.length >= MAX_PRINTED_LINES) {
      droppedLines++;
      return;
    }
    let text = Array.prototype.map.call(args, formatArg).join(" ");
    if (text.length > MAX_LINE_LENGTH) text = text.slice(0, MAX_LINE_LENGTH) + "...";
    printed.push({ level: level, text: text });
  }

  function takePrinted() {
    const lines = printed.slice();
    if (droppedLines) lines.push({ level: "warning", text: `(${droppedLines} more lines not shown)` });
    return lines;
  }

  // ---- uuid4 ---------------------------------------------------------------------------
  // QuickJS seeds Math.random from the clock, so two contexts started in the same instant
  // could produce the same sequence. Each word is XOR-ed with 128 bits the host took from
  // the OS for this run: equal sequences then still give different ids. (Math.random is
  // native; a generator written in JS made big jobs measurably slower in QuickJS.)

  const seedHex = String(env.seed || "").padEnd(32, "0");
  const seedWords = [0, 1, 2, 3].map((i) => parseInt(seedHex.slice(i * 8, i * 8 + 8), 16) >>> 0);

  function hex32(word) {
    return word.toString(16).padStart(8, "0");
  }

  function uuid4() {
    const a = hex32(((Math.random() * 4294967296) ^ seedWords[0]) >>> 0);
    const b = hex32(((((Math.random() * 4294967296) ^ seedWords[1]) & 0xffff0fff) | 0x4000) >>> 0); // version 4
    const c = hex32(((((Math.random() * 4294967296) ^ seedWords[2]) & 0x3fffffff) | 0x80000000) >>> 0); // variant
    const d = hex32(((Math.random() * 4294967296) ^ seedWords[3]) >>> 0);
    return a + "-" + b.slice(0, 4) + "-" + b.slice(4) + "-" + c.slice(0, 4) + "-" + c.slice(4) + d;
  }

  // ---- author API ---------------------------------------------------------------------

  function requiredText(value, what) {
    if (value === undefined || value === null) throw `${what} is required`;
    const text = typeof value === "string" ? value.trim() : String(value).trim();
    if (!text) throw `${what} must not be empty`;
    return text;
  }

  class AuthoredCommand {
    constructor(name, parameters, totalStepCount) {
      this.name = requiredText(name, "command name");
      if (parameters === undefined || parameters === null) parameters = {};
      if (typeof parameters !== "object" || Array.isArray(parameters)) {
        throw `parameters of command "${this.name}" must be an object`;
      }
      this.parameters = parameters;
      const steps = totalStepCount === undefined || totalStepCount === null ? 0 : Number(totalStepCount);
      if (!Number.isInteger(steps) || steps < 0) {
        throw `total step count of command "${this.name}" must be a whole number >= 0, not ${totalStepCount}`;
      }
      this.totalStepCount = steps;
    }
  }

  class AuthoredTask {
    constructor(name, type) {
      this.name = requiredText(name, "task name");
      this.type = requiredText(type, "task type");
      this.priority = 50;
      this.uuid = uuid4();
      this.commands = [];
      this.dependencies = [];
    }
    // Made on first use; an indexOf() scan instead would make fan-in tasks quadratic.
    #dependencySet = null;
    // Flamenco exposes the Go field `UUID` under this name; some scripts may use it.
    get uUID() {
      return this.uuid;
    }
    addCommand(command) {
      if (!(command instanceof AuthoredCommand)) throw `task "${this.name}": addCommand() needs an author.Command()`;
      this.commands.push(command);
    }
    addDependency(task) {
      if (!(task instanceof AuthoredTask)) throw `task "${this.name}": addDependency() needs an author.Task()`;
      if (task === this) throw `task "${this.name}" cannot depend on itself`;
      if (this.#dependencySet === null) this.#dependencySet = new Set();
      if (this.#dependencySet.has(task)) return;
      this.#dependencySet.add(task);
      this.dependencies.push(task);
    }
  }

  class AuthoredJob {
    constructor(input) {
      this.jobID = input.jobID;
      this.name = input.name;
      this.jobType = input.jobType;
      this.priority = input.priority;
      this.status = input.status;
      this.created = new Date(input.createdMs);
      this.settings = input.settings || {};
      this.metadata = input.metadata || {};
      this.workerTagUUID = input.workerTagUUID || "";
      this.submitterPlatform = input.submitterPlatform;
      this.storage = { shamanCheckoutID: input.shamanCheckoutID || "" };
      this.tasks = [];
    }
    addTask(task) {
      if (!(task instanceof AuthoredTask)) throw "addTask() needs an author.Task()";
      if (this.tasks.length >= MAX_TASKS) {
        throw `this job makes more than ${thousands(MAX_TASKS)} tasks, the most one job may have; split it ` +
          "into smaller jobs (for a render: a larger chunk size, or part of the frame range per job)";
      }
      this.tasks.push(task);
    }
  }

  const author = {
    // Plain functions, so scripts may call them with or without `new`.
    Task: function Task(name, type) {
      return new AuthoredTask(name, type);
    },
    Command: function Command(name, parameters, totalStepCount) {
      return new AuthoredCommand(name, parameters, totalStepCount);
    },
  };

  // ---- frame ranges -------------------------------------------------------------------

  // The number written by `text` if it is plain digits without leading zeros, else -1.
  function plainNumber(text) {
    const n = Number(text);
    return Number.isInteger(n) && n >= 0 && String(n) === text ? n : -1;
  }

  // [start, end] for the chunks frameChunker itself makes ("12", "1-4"), else null.
  // Scripts call frameCount() once per chunk, and QuickJS regular expressions are slow,
  // so this path avoids them.
  function simpleRange(range) {
    if (typeof range !== "string") return null;
    const dash = range.indexOf("-");
    const start = plainNumber(dash < 0 ? range : range.slice(0, dash));
    const end = dash < 0 ? start : plainNumber(range.slice(dash + 1));
    return start >= 0 && end >= start ? [start, end] : null;
  }

  // Parse "1-10, 20..25,40 3" into sorted, merged [start, end] intervals.
  function frameIntervals(range) {
    if (typeof range === "number") range = String(range);
    const simple = simpleRange(range);
    if (simple) return [simple];
    if (typeof range !== "string") throw `frame range must be a string, not ${typeof range}`;
    // Spaces around operators belong to the part; other whitespace separates parts.
    const parts = range.trim().replace(/\s*(-|\.\.|,)\s*/g, "$1").split(/[\s,]+/);
    const intervals = [];
    for (const part of parts) {
      if (!part) continue;
      const m = /^(\d+)(?:(?:-|\.\.)(\d+))?$/.exec(part);
      if (!m) throw `invalid frame range part "${part}" in "${range}"`;
      const start = Number(m[1]);
      const end = m[2] === undefined ? start : Number(m[2]);
      if (end < start) throw `invalid frame range part "${part}": end before start`;
      intervals.push([start, end]);
    }
    if (!intervals.length) throw `empty frame range "${range}"`;
    intervals.sort((a, b) => a[0] - b[0]);
    const merged = [intervals[0]];
    for (let i = 1; i < intervals.length; i++) {
      const last = merged[merged.length - 1];
      const [start, end] = intervals[i];
      if (start <= last[1] + 1) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    return merged;
  }

  function formatRun(first, last) {
    if (first === last) return String(first);
    if (last === first + 1) return `${first},${last}`;
    return `${first}-${last}`;
  }

  // Chunks are cut from the interval list directly, so a chunk costs O(1) no matter
  // how many frames it covers.
  function frameChunker(range, chunkSize) {
    const size = Number(chunkSize);
    if (!Number.isInteger(size) || size < 1) throw `chunk size must be a whole number >= 1, not ${chunkSize}`;
    const intervals = frameIntervals(range);
    const total = intervals.reduce((sum, [s, e]) => sum + (e - s + 1), 0);
    const chunkCount = Math.ceil(total / size);
    if (chunkCount > MAX_CHUNKS) {
      const fits = Math.ceil(total / MAX_CHUNKS);
      throw `frame range "${range}" in chunks of ${size} makes ${thousands(chunkCount)} tasks, ` +
        `more than the ${thousands(MAX_CHUNKS)} one job may have; use a chunk size of at least ` +
        `${fits}, or split the frame range over several jobs`;
    }
    const chunks = [];
    let runs = [];
    let count = 0;
    for (const [start, end] of intervals) {
      let frame = start;
      while (frame <= end) {
        const take = Math.min(size - count, end - frame + 1);
        runs.push(formatRun(frame, frame + take - 1));
        count += take;
        frame += take;
        if (count === size) {
          chunks.push(runs.length === 1 ? runs[0] : runs.join(","));
          runs = [];
          count = 0;
        }
      }
    }
    if (count) chunks.push(runs.join(","));
    return chunks;
  }

  function frameCount(range) {
    const simple = simpleRange(range);
    if (simple) return simple[1] - simple[0] + 1;
    return frameIntervals(range).reduce((sum, [s, e]) => sum + (e - s + 1), 0);
  }

  // ---- time -----------------------------------------------------------------------------

  function formatTimestampLocal(time) {
    const d = time instanceof Date ? time : new Date(time);
    if (isNaN(d.getTime())) throw `formatTimestampLocal() needs a valid date, not ${time}`;
    const p = (n, width = 2) => String(n).padStart(width, "0");
    return (
      `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}_` +
      `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`
    );
  }

  // ---- shell splitting (Python shlex.split semantics, POSIX mode) -----------------------

  function shellSplit(text) {
    if (typeof text !== "string") throw `shellSplit() needs a string, not ${typeof text}`;
    const words = [];
    let word = null; // null: not inside a word
    let i = 0;
    while (i < text.length) {
      const c = text[i++];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") {
        if (word !== null) words.push(word);
        word = null;
      } else if (c === "\\") {
        if (i >= text.length) throw "shellSplit: no escaped character";
        word = (word || "") + text[i++];
      } else if (c === "'") {
        const close = text.indexOf("'", i);
        if (close < 0) throw "shellSplit: no closing quotation";
        word = (word || "") + text.slice(i, close);
        i = close + 1;
      } else if (c === '"') {
        word = word || "";
        for (;;) {
          if (i >= text.length) throw "shellSplit: no closing quotation";
          const q = text[i++];
          if (q === '"') break;
          // Inside double quotes a backslash only escapes these characters.
          if (q === "\\" && i < text.length && '"\\$`\n'.indexOf(text[i]) >= 0) word += text[i++];
          else if (q === "\\" && i >= text.length) throw "shellSplit: no closing quotation";
          else word += q;
        }
      } else {
        word = (word || "") + c;
      }
    }
    if (word !== null) words.push(word);
    return words;
  }

  // ---- paths: both separators in, forward slashes out ------------------------------------

  function toSlash(p) {
    return String(p).replace(/\\/g, "/");
  }

  // Lexical clean-up like Go's path.Clean, but keeping a leading "//" (UNC shares).
  function clean(p) {
    p = toSlash(p);
    if (!p) return ".";
    const unc = p.startsWith("//") && !p.startsWith("///");
    const rooted = p.startsWith("/");
    const out = [];
    for (const part of p.split("/")) {
      if (!part || part === ".") continue;
      if (part === ".." && out.length && out[out.length - 1] !== "..") out.pop();
      else if (part === ".." && rooted) continue;
      else out.push(part);
    }
    const body = out.join("/");
    if (unc) return "//" + body;
    if (rooted) return "/" + body;
    return body || ".";
  }

  function basename(p) {
    const s = toSlash(p).replace(/\/+$/, "");
    if (!s) return toSlash(p) ? "/" : ".";
    return s.slice(s.lastIndexOf("/") + 1);
  }

  function dirname(p) {
    const s = toSlash(p);
    const slash = s.lastIndexOf("/");
    if (slash < 0) return ".";
    let dir = clean(s.slice(0, slash + 1));
    if (/^[A-Za-z]:$/.test(dir)) dir += "/"; // "C:\file" lives in "C:/", not in "C:"
    return dir;
  }

  function join(...parts) {
    const kept = parts.map((p) => toSlash(p)).filter((p) => p !== "");
    return kept.length ? clean(kept.join("/")) : "";
  }

  function stem(p) {
    const base = basename(p);
    const dot = base.lastIndexOf(".");
    return dot > 0 ? base.slice(0, dot) : base;
  }

  const path = { basename, dirname, join, stem };

  // ---- globals --------------------------------------------------------------------------

  const print = (...args) => collect("info", args);
  const alert = (...args) => collect("warning", args);
  globalThis.author = author;
  globalThis.frameChunker = frameChunker;
  globalThis.frameCount = frameCount;
  globalThis.formatTimestampLocal = formatTimestampLocal;
  globalThis.shellSplit = shellSplit;
  globalThis.path = path;
  globalThis.print = print;
  globalThis.alert = alert;
  globalThis.process = { platform: env.platform || "linux", cwd: () => env.cwd || "/" };
  globalThis.console = { log: print, info: print, debug: print, warn: alert, error: alert };

  // ---- results handed back to the host ----------------------------------------------------

  function describeError(err) {
    if (err instanceof Error) {
      const frame = /\((.*?:\d+:\d+)\)/.exec(String(err.stack || ""));
      const text = err.name === "Error" ? err.message : `${err.name}: ${err.message}`;
      return { message: text, location: frame ? frame[1] : "" };
    }
    if (typeof err === "string") return { message: err, location: "" };
    return { message: formatArg(err), location: "" };
  }

  // Tasks travel as one flat array, not as objects: QuickJS's JSON.stringify (and
  // Python's json.loads) spend most of their time per container, and a 10,000-task job
  // would otherwise have tens of thousands of them. Measured: about 0.15 s less per
  // 10,000 tasks. Per task, in addTask() order:
  //   uuid, name, type, priority, dependency count, dependency uuids...,
  //   command count, then per command: name, parameters, totalStepCount
  function exportTasks(tasks) {
    if (!Array.isArray(tasks)) throw "job.tasks must stay an array";
    const added = new Set();
    for (const task of tasks) {
      if (!(task instanceof AuthoredTask)) throw "job.tasks may only hold author.Task() objects";
      if (added.has(task)) throw `task "${task.name}" was added to the job twice`;
      added.add(task);
    }
    const flat = [];
    for (const task of tasks) {
      const deps = task.dependencies;
      flat.push(task.uuid, String(task.name), String(task.type), task.priority, deps.length);
      for (const dep of deps) {
        if (!added.has(dep)) throw `task "${task.name}" depends on task "${dep.name}", which was not added to the job`;
        flat.push(dep.uuid);
      }
      flat.push(task.commands.length);
      for (const c of task.commands) {
        if (!(c instanceof AuthoredCommand)) throw `task "${task.name}" has a command that is not an author.Command()`;
        flat.push(c.name, c.parameters, c.totalStepCount);
      }
    }
    return flat;
  }

  function exportJob(job) {
    return { settings: job.settings, metadata: job.metadata, tasks: exportTasks(job.tasks) };
  }

  function describeJobType(jobType) {
    if (jobType === undefined) return { ok: false, error: { message: "the script defines no JOB_TYPE" } };
    return { ok: true, jobType: jobType, printed: takePrinted() };
  }

  function runCompile(compileJob, input) {
    if (typeof compileJob !== "function") {
      return { ok: false, error: { message: "the script defines no compileJob(job) function" }, printed: takePrinted() };
    }
    try {
      const job = new AuthoredJob(input);
      compileJob(job);
      return { ok: true, job: exportJob(job), printed: takePrinted() };
    } catch (err) {
      return { ok: false, error: describeError(err), printed: takePrinted() };
    }
  }

  return { describeJobType, runCompile, takePrinted, frameIntervals };
})();
